"""A small dense sketch of what the reward model sees of a (prompt, response), for design criteria that
need a modest dimension (app/selection/reward_data.py): the hashed word n-grams (features.py) folded
into SKETCH_BUCKETS signed buckets (a count sketch, Weinberger et al. 2009, "Feature hashing for large
scale multitask learning"), then the length features. Inner products of sketches estimate those of
the full features, so coverage in the sketch tracks coverage in the model's input space."""

import numpy as np

from workers.ml.reward.features import N_LENGTH_FEATURES, hashed_ngrams, length_features

SKETCH_BUCKETS = 64


def sketch(prompt: str, response: str) -> np.ndarray:
    ids, values = hashed_ngrams(response)
    out = np.zeros(SKETCH_BUCKETS + N_LENGTH_FEATURES)
    for feature, value in zip(ids, values, strict=True):
        # The bucket from the low bits, the sign from a higher one: independent enough for a sketch.
        sign = 1.0 if (feature >> 17) & 1 else -1.0
        out[feature % SKETCH_BUCKETS] += sign * value
    out[SKETCH_BUCKETS:] = length_features(prompt, response)
    return out
