"""A local causal LM as a pairwise judge: instead of reading a generated verdict, the log-probability of
each verdict ("A", "B", "tie") as the continuation of the prompt, so every verdict has a probability."""

import math
import threading
import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from app.generation.base import TransformersConfig
from app.judging.providers import Answer, JudgeBackend, JudgeError, Pair
from app.routing.judge import Shown, Verdict
from workers.ml.generation.devices import pick_device, pick_dtype

VERDICTS: tuple[tuple[Shown, str], ...] = (("first", " A"), ("second", " B"), ("tie", " tie"))
CUE = "\nVerdict:"


class TransformersJudge(JudgeBackend):
    def __init__(self, config: TransformersConfig, *, template: str) -> None:
        path = Path(config.path)
        if not path.is_dir():
            raise JudgeError(f"no model directory at {path}")
        self.device = pick_device(config.device)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(
                path, local_files_only=True, dtype=pick_dtype(config.dtype, self.device)
            )
        except (OSError, ValueError, KeyError) as exc:
            raise JudgeError(f"cannot load a language model from {path}: {exc}") from exc
        self.model.to(self.device).eval()
        self.templated = bool(config.chat_template and getattr(self.tokenizer, "chat_template", None))
        self.template = template
        self._lock = threading.Lock()  # fast tokenizers are not safe to share between threads

    def _context(self, question: str) -> str:
        if self.templated:
            chat = [{"role": "user", "content": question}]
            return (
                str(self.tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True))
                + CUE
            )
        return question + CUE

    def _log_prob(self, context_ids: list[int], continuation: str) -> float:
        ids = self.tokenizer(continuation, add_special_tokens=False)["input_ids"]
        if not ids:
            raise JudgeError(f"the tokenizer makes no tokens of {continuation!r}")
        tokens = torch.tensor([context_ids + ids], device=self.device)
        with torch.no_grad():
            logits = self.model(tokens).logits[0, len(context_ids) - 1 : -1].float()
        picked = torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(ids, device=self.device)[:, None])
        return float(picked.sum())

    def ask(self, pair: Pair, *, a_first: bool) -> Answer:
        started = time.perf_counter()
        context = self._context(pair.question(self.template, a_first=a_first))
        with self._lock:
            context_ids = self.tokenizer(context, add_special_tokens=False)["input_ids"]
            limit = getattr(self.model.config, "max_position_embeddings", None) or getattr(
                self.model.config, "n_positions", None
            )
            if limit is not None and len(context_ids) + 4 > limit:
                raise JudgeError(
                    f"the question is {len(context_ids)} tokens; the model reads at most {limit}"
                )
            scores = {shown: self._log_prob(context_ids, text) for shown, text in VERDICTS}
        top = max(scores.values())
        weights = {shown: math.exp(value - top) for shown, value in scores.items()}
        total = sum(weights.values())
        probs = {shown: w / total for shown, w in weights.items()}
        # Equally likely sides are a tie, whatever the tie verdict's own probability.
        best = max(probs, key=lambda s: probs[s])
        if best != "tie" and math.isclose(probs["first"], probs["second"], rel_tol=1e-6):
            best = "tie"
        p_first = probs["first"] / (probs["first"] + probs["second"])
        output = ", ".join(f"P({text.strip()})={probs[shown]:.3f}" for shown, text in VERDICTS)
        return Answer(Verdict(best, p_first), output, int((time.perf_counter() - started) * 1000))
