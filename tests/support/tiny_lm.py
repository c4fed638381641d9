"""A tiny causal language model with its own tokenizer, built offline into a directory (no downloads).

Its weights are random but fixed (seeded), so its answers are the same on every run: nonsense made of
WORDS, which is all the generation tests need.
"""

from pathlib import Path

WORDS = [
    "the", "a", "is", "cat", "dog", "sat", "on", "mat", "ran", "to", "park", "and", "it", "was", "good",
    "bad", "sky", "blue", "sun", "hot", "explain", "why", "what", "how", "answer", "question", ".", "?", ",",
]  # fmt: skip
CHAT_TEMPLATE = "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {% endfor %}assistant :"


def build_tiny_lm(directory: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    specials = ["<pad>", "<unk>", "<eos>", "user", "assistant", "system", ":"]
    vocab = {token: i for i, token in enumerate([*specials, *WORDS])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", unk_token="<unk>", eos_token="<eos>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    config = GPT2Config(
        vocab_size=len(vocab),
        n_positions=256,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=vocab["<eos>"],
        eos_token_id=vocab["<eos>"],
        pad_token_id=vocab["<pad>"],
    )
    with torch.random.fork_rng():  # seeded without touching the caller's random state
        torch.manual_seed(0)
        GPT2LMHeadModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
