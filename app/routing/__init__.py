"""Hybrid human/LM labelling: an LM judge's verdicts in both orders (`judge.py`) and a router that
learns on a calibration slice which instances need humans, under a human budget (`router.py`);
the PandaLM benchmark of it (`simulation.py`). Pure numpy, no database."""
