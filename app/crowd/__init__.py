"""Crowd entry in the Prolific style: participant, study and session ids, completion code."""
