"""LM judges: a model that labels a campaign's pairs, asked in both orders, voting as an annotator of kind
model (so every export and training set flags its labels)."""
