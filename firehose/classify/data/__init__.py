"""The labeled data the classifier trains and is evaluated on (*.jsonl) and its label rules (LABELS.md).

The tools that write it live in training/ (not shipped).
"""
