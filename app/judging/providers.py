"""What a judge is asked and how it answers, behind one interface: an OpenAI-compatible endpoint (its
verdict read off the answer's last line), a local causal LM (log-probabilities of the verdicts; torch,
so in workers/ml/judge_lm.py) or a reward model (the higher score wins)."""

import math
import time
from dataclasses import dataclass
from typing import Protocol

from app.generation.base import GenerationError, Message, OpenAIConfig, TransformersConfig
from app.judging import prompts
from app.judging.schemas import JudgeSampling, RewardModelJudgeConfig
from app.routing.judge import Verdict

OUTPUT_LIMIT = 4000  # characters of a judge's answer kept with its judgement


class JudgeError(Exception):
    """One question to the judge failed (HTTP error, timeout, an answer without a verdict); the message
    is for people. `output` is whatever the judge did answer."""

    def __init__(self, message: str, *, output: str = "") -> None:
        super().__init__(message)
        self.output = output


@dataclass(frozen=True)
class Pair:
    """A comparison as the judge reads it: candidates a and b in their stored order."""

    comparison_id: int
    prompt: str
    guidelines: str
    a_id: int
    a_text: str
    b_id: int
    b_text: str

    def question(self, template: str, *, a_first: bool) -> str:
        first, second = (self.a_text, self.b_text) if a_first else (self.b_text, self.a_text)
        return prompts.render(
            template, prompt=self.prompt, first=first, second=second, guidelines=self.guidelines
        )


@dataclass(frozen=True)
class Answer:
    verdict: Verdict
    output: str
    latency_ms: int


class JudgeBackend(Protocol):
    def ask(self, pair: Pair, *, a_first: bool) -> Answer:
        """The judge's verdict on the pair shown a first (`a_first`) or b first; raises JudgeError."""
        ...


class OpenAIJudge(JudgeBackend):
    def __init__(self, config: OpenAIConfig, *, template: str, sampling: JudgeSampling) -> None:
        from app.generation.openai_compat import OpenAIProvider

        self.provider = OpenAIProvider(config)
        self.template = template
        self.params = sampling.params()

    def ask(self, pair: Pair, *, a_first: bool) -> Answer:
        message = Message(role="user", content=pair.question(self.template, a_first=a_first))
        started = time.perf_counter()
        try:
            (generation,) = self.provider.generate([message], self.params)
        except GenerationError as exc:
            raise JudgeError(str(exc)) from exc
        output = (generation.content or "")[:OUTPUT_LIMIT]
        try:
            verdict = prompts.read_verdict(generation.content or "")
        except prompts.UnreadableAnswer as exc:
            raise JudgeError(str(exc), output=output) from exc
        return Answer(verdict, output, int((time.perf_counter() - started) * 1000))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


class RewardModelJudge(JudgeBackend):
    """Scores are looked up, not computed: the task hands over every candidate's score up front."""

    def __init__(self, config: RewardModelJudgeConfig, *, scores: dict[int, float]) -> None:
        self.tie_margin = config.tie_margin
        self.scores = scores

    def ask(self, pair: Pair, *, a_first: bool) -> Answer:
        first, second = (pair.a_id, pair.b_id) if a_first else (pair.b_id, pair.a_id)
        if first not in self.scores or second not in self.scores:
            raise JudgeError("the reward model has no score for this pair (a media candidate?)")
        margin = self.scores[first] - self.scores[second]
        choice = "tie" if abs(margin) <= self.tie_margin else ("first" if margin > 0 else "second")
        output = f"score first {self.scores[first]:.4f}, second {self.scores[second]:.4f}"
        return Answer(Verdict(choice, sigmoid(margin)), output, 0)


def make_backend(
    provider: OpenAIConfig | TransformersConfig | RewardModelJudgeConfig,
    *,
    template: str,
    sampling: JudgeSampling,
    scores: dict[int, float] | None = None,
) -> JudgeBackend:
    if isinstance(provider, OpenAIConfig):
        return OpenAIJudge(provider, template=template, sampling=sampling)
    if isinstance(provider, RewardModelJudgeConfig):
        return RewardModelJudge(provider, scores=scores or {})
    try:
        from workers.ml.judge_lm import TransformersJudge
    except ModuleNotFoundError as exc:
        raise JudgeError(
            f"a transformers judge needs {exc.name} on this worker: pip install 'preflab[ml]'"
        ) from exc
    return TransformersJudge(provider, template=template)
