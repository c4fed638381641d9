"""The test OpenAI-compatible server (tests/support/openai_server.py) answering as a judge by a rule:

- "longer": prefers the longer answer, with a line of reasons, then "A" or "B" on the last line;
- "first": always says "A" (pure position bias: swapping the answers flips its label);
- "mumble": never names a verdict;
and with `mumble_on` set, mumbles on any question containing that text (a pair that keeps failing).
"""

import re
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Literal

from app.generation.base import Generation, GenerationParams, GenerationStream, Message
from tests.support.openai_server import OpenAIServer, serve_openai

Rule = Literal["longer", "first", "mumble"]
_ANSWERS = re.compile(r"\[Answer A\]\n(?P<first>.*?)\n\n\[Answer B\]\n(?P<second>.*?)\n\n", re.DOTALL)


@dataclass
class RuleJudge:
    name: str = "rule-judge"
    rule: Rule = "longer"
    mumble_on: str | None = None
    questions: list[str] = field(default_factory=list)

    def answer(self, question: str) -> str:
        self.questions.append(question)
        if self.rule == "first":
            return "Answer A reads well.\nA"
        if self.rule == "mumble" or (self.mumble_on is not None and self.mumble_on in question):
            return "Both have merits and I would rather not say."
        shown = _ANSWERS.search(question)
        if shown is None:
            return "I cannot find the two answers."
        first, second = shown.group("first"), shown.group("second")
        if len(first) == len(second):
            return "They are as long as each other.\ntie"
        return f"The longer answer covers more.\n**{'A' if len(first) > len(second) else 'B'}**"

    def generate(self, messages: list[Message], params: GenerationParams) -> list[Generation]:
        text = self.answer(messages[-1].content)
        return [
            Generation(content=text, provider="rule", model=self.name, params={}, latency_ms=1)
        ] * params.n

    def stream(self, messages: list[Message], params: GenerationParams) -> GenerationStream:
        whole = self.generate(messages, params)[0]
        return GenerationStream(iter([whole.content or ""]), lambda _text, _ms: whole)


def serve_judge(judge: RuleJudge) -> AbstractContextManager[OpenAIServer]:
    """The test server with `judge` as its backend, on a free loopback port."""
    return serve_openai(backend=judge)
