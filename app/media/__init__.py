"""Media: images, audio and video stored once per content, attached to candidates in order."""
