"""Hand-written phrasings, by what they hold (`common` has the shared pools, cards and group helpers).

- english: English posts of every label (GitHub, ML, both, neither, with the word traps);
- replies_and_short: short English posts and replies, forge traps, a few non-English ML posts;
- intl: ja, pt, es, de and fr posts of every label;
- slang_and_everyday: ML slang and cards, everyday posts and hard negatives in five languages (round 2);
- ml_jargon: ML jargon, the traps that share it, GitHub-heavy posts about both (round 3);
- everyday: everyday negatives that share ML's vocabulary, hobby "model" posts (round 4).
The order generate.py draws them in is fixed: it is what keeps the generated files byte-identical.
"""
