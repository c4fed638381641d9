"""Arenas: anonymous models battle on prompts, voters pick the better answer, a leaderboard ranks them."""
