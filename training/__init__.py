"""Tools that make the classifier's labeled data; not part of the shipped package.

`python -m training.generate` writes firehose/classify/data/{train,heldout}.jsonl from the phrasings in
training/phrases/ (common pools and card helpers, then one module per kind of post); `python -m
training.fresh` writes fresh.jsonl, the hand-written evaluation set. Both are deterministic: running
them again gives byte-identical files. The runtime never imports this package.
"""
