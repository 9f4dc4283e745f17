"""Round 2 of hand-written posts: where round 1 was thin (see LABELS.md, "Round 2").

- ML posts in practitioner slang and jargon (hardware, tools, interpretability, Kaggle, reading groups),
  not only the textbook vocabulary of round 1;
- posts about both where GitHub dominates the wording (a PR to an ML library, an issue on an ML repo);
- ML posts and everyday negatives in ja, pt, es, de and fr;
- many short everyday off-topic posts and replies (the bulk of the real network) and more hard negatives
  (figurative "deep learning", neuroscience, weather models, consumer chatter about AI products).

Written by hand, one line each; none of them is a paraphrase of fresh.jsonl or heldout.jsonl.
Every group here goes to train.jsonl (generate.py), so heldout.jsonl stays as it was.
"""

# ruff: noqa: E501
from __future__ import annotations

from collections.abc import Iterator

from training.phrases.common import BOTH, GH, ML, NONE, Gen

# (text, card or None, reply)
Row = tuple[str, tuple[str, str, str] | None, bool]


def _gh(repo: str, desc: str) -> tuple[str, str, str]:
    return (
        f"https://github.com/{repo}",
        f"GitHub - {repo}: {desc}",
        f"{desc}. Contribute to {repo} development by creating an account on GitHub.",
    )


def _arxiv(num: str, title: str, abstract: str) -> tuple[str, str, str]:
    return (f"https://arxiv.org/abs/{num}", f"[{num}] {title}", abstract)


def _hf(path: str) -> tuple[str, str, str]:
    return (
        f"https://huggingface.co/{path}",
        f"{path.split('/', 1)[-1]} · Hugging Face",
        "We're on a journey to advance and democratize artificial intelligence through open source and open science.",
    )


ML_SLANG = [
    "batch size 1 and gradient accumulation 64, this is how the GPU poor live",
    "the H100 queue on our cluster is 3 days long so I'm debugging on a T4 like it's 2019",
    "my training loss went to NaN at step 40k and took my weekend with it",
    "bf16 fixed the overflow, now it's just slow instead of broken",
    "ran the ablation everyone asked for in the rebuttal. the effect is real, reviewers",
    "LightGBM still wins on our tabular data and I've stopped apologizing for it",
    "xgboost with good features > a transformer with bad ones, every single time",
    "top 5% on the kaggle leaderboard until the private split dropped us 300 places. classic overfit to public LB",
    "interpretability people: is there a good intro to probing classifiers that isn't 40 pages",
    "the logit lens on this model shows the answer forming by layer 12, kind of beautiful",
    "mechanistic interp paper of the week: they found a circuit that does modular addition with Fourier features",
    "activation steering is wild, add one vector and the model won't stop talking about bridges",
    "our paper reading club is doing Attention Is All You Need again for the new folks, bring snacks",
    "spent the day reading the Chinchilla paper and rethinking our token budget",
    "the pytorch profiler says 60% of my step time is the dataloader. of course it is",
    "torch.compile gave us 1.4x on inference and 3 hours of cryptic errors",
    "moved our inference from fp16 to int8 and the accuracy drop was within noise",
    "tried jax for a side project, vmap is magic, the error messages are not",
    "the triton kernel I wrote is slower than the pytorch default. humbling",
    "LangChain for prototyping, plain python for production. learned that the hard way",
    "prompt engineering is dead, long live eval engineering",
    "if your LLM app doesn't have an eval set you're just vibing in prod",
    "wrote 200 test cases for our summarizer and found it skips negations half the time",
    "LLM-as-judge agreed with our human raters 78% of the time. better than the raters agreed with each other",
    "our agent loops forever when a tool returns an empty list. anyone solved this gracefully",
    "function calling on small open models is finally usable",
    "context window of 1M tokens and it still forgets what I said in the second message",
    "embedding drift after a model upgrade broke our whole semantic search index, reindexed 40M docs",
    "cosine similarity of 0.83 means nothing without a baseline, please stop screenshotting it",
    "reranker on top of BM25 got us 90% of the way to the fancy dense setup at 10% of the cost",
    "we distilled the big model into a 300M one for the edge device and kept 95% of the quality",
    "synthetic data from the big model + a small student = our cheapest win this year",
    "catastrophic forgetting hit hard after the second fine-tune, the model forgot how to do math",
    "QLoRA on a 70B on two 3090s. it works. it's slow. I'm happy",
    "the tokenizer splits every Hindi word into 8 tokens, no wonder the model struggles",
    "label noise was 12% in our training set. cleaned it and gained more than any architecture change",
    "active learning saved us from labeling 50k images by hand",
    "data versioning with DVC finally stopped the 'which dataset was this model trained on' fights",
    "feature store discourse is back on my timeline and I am tired",
    "MLflow runs for this project: 1,204. experiments that mattered: 3",
    "our recommender A/B test was flat, turns out the offline metric didn't track anything users care about",
    "shipping a model is 10% training and 90% monitoring what it does in prod",
    "anyone hiring junior ML researchers? finishing my PhD on graph neural networks in spring",
    "I'm giving a talk on efficient fine-tuning at the local ML meetup thursday, come say hi",
    "ICLR submissions are public on OpenReview and half of them are about reasoning",
    "poster session at EMNLP was packed, talked to so many people about multilingual evaluation",
    "my advisor wants one more baseline. the baseline needs 800 GPU hours",
    "computer vision folks: what's the go-to backbone for segmentation on small medical datasets now",
    "self-supervised pretraining on our unlabeled sensor data beat the supervised model with 10x labels",
    "speech recognition on noisy call center audio is still hard, WER around 25% with the best model",
    "text-to-image model keeps giving everyone six fingers, the training data has a lot to answer for",
    "the scaling law fits break down below 100M params in our runs, anyone else seen that",
    "mixture of experts routing collapse: all tokens go to expert 3. expert 3 is tired",
    "RL fine-tuning made the model better at math and worse at being polite, tradeoffs",
    "reward hacking example of the day: the model learned to write 'tests passed' in the output",
    "AI alignment researchers and ML engineers should talk more, the vocabularies barely overlap",
    "the AI Act's high-risk category is going to mean a lot of documentation for our credit scoring models",
    "model cards should list the eval contamination checks, not just the benchmark numbers",
    "on-device LLM on the phone runs at 12 tokens/s, good enough for autocomplete",
    "the GPU bill for last month's fine-tuning experiments made our CFO learn what an A100 is",
    "neural net training tip: overfit a single batch first. if it can't, your bug is not the learning rate",
    "wandb sweep found a learning rate 3x higher than what I'd have picked, and it's better",
    "the confusion matrix says our classifier can't tell sarcasm from praise",
    "ROC AUC 0.97 and precision at our operating point is garbage. class imbalance strikes",
    "multimodal models still can't count objects in an image reliably, tried 5 of them",
    "graph neural nets for fraud detection: works great until the fraudsters change the graph",
    "time series forecasting with foundation models is surprisingly decent on our retail data",
    "stable diffusion fine-tune on my own sketches, the results look like me on a good day",
    "the open weights model beats the closed one on our legal document task. small, fine-tuned, cheap",
    "learning rate warmup really matters for transformers, skipped it and the run diverged in 200 steps",
    "KV cache eats all the memory at long context, paged attention is the only reason this works",
    "sentence embeddings for clustering support tickets turned out way better than topic models",
]

ML_CARDS: list[Row] = [
    (
        "",
        _arxiv(
            "2503.01877",
            "Why Do Small Language Models Fail at Multi-Step Arithmetic?",
            "We trace arithmetic errors in 1B-parameter models to tokenization of digits and propose a digit-level curriculum.",
        ),
        False,
    ),
    (
        "must read for anyone doing evals",
        _arxiv(
            "2409.11550",
            "Benchmark Saturation and the Illusion of Progress",
            "Most headline gains on popular benchmarks vanish under paraphrased test items.",
        ),
        False,
    ),
    (
        "",
        _arxiv(
            "2411.03210",
            "Low-Rank Adapters Forget Less",
            "Parameter-efficient fine-tuning retains more of the base model's abilities than full fine-tuning at equal target accuracy.",
        ),
        False,
    ),
    (
        "neat result",
        _arxiv(
            "2504.08891",
            "Self-Supervised Learning of Bird Song Representations",
            "A contrastive audio encoder trained on 20k hours of field recordings improves species classification.",
        ),
        False,
    ),
    ("", _hf("openai/whisper-large-v3-turbo"), False),
    ("new open model just dropped", _hf("allenai/OLMo-2-1124-13B"), False),
    ("", _hf("datasets/HuggingFaceH4/ultrachat_200k"), False),
    (
        "our write-up on this",
        (
            "https://huggingface.co/blog/smol-training",
            "How we trained a 135M model that punches above its weight",
            "Data mixtures, learning rate schedules and the evaluation suite behind our small language model.",
        ),
        False,
    ),
    (
        "",
        (
            "https://distill.pub/2020/circuits/zoom-in/",
            "Zoom In: An Introduction to Circuits",
            "By studying the connections between neurons, we can find meaningful algorithms in the weights of neural networks.",
        ),
        False,
    ),
    (
        "good explainer",
        (
            "https://jalammar.github.io/illustrated-transformer/",
            "The Illustrated Transformer",
            "Visualizing machine learning one concept at a time: attention, encoder and decoder stacks.",
        ),
        False,
    ),
    (
        "",
        (
            "https://openreview.net/forum?id=Xy12ab",
            "Calibrated Uncertainty for Large Language Model Agents | OpenReview",
            "We propose a method to estimate when an LLM agent's tool call is likely to fail.",
        ),
        False,
    ),
    (
        "blogged about our eval setup",
        (
            "https://www.lesswrong-free.dev/llm-evals",
            "Building an LLM evaluation harness that doesn't lie to you",
            "Held-out prompts, contamination checks and judge models: what we learned evaluating chat models.",
        ),
        False,
    ),
]

ML_INTL: dict[str, list[str]] = {
    "ja": [
        "量子化した7BモデルをノートPCで動かしたら意外と実用的だった",
        "Kaggleのコンペ、最後の一週間で特徴量を足したら銀メダル",
        "強化学習でLLMを調整したら数学は強くなったけど口調が変になった",
        "埋め込みベクトルで問い合わせを分類したら精度がかなり上がった",
        "機械学習エンジニアの求人、PyTorchの経験必須が増えてきた",
        "論文の再現実験、乱数シードで結果がかなり変わる",
    ],
    "pt": [
        "finalmente entendi o mecanismo de atenção depois de implementar do zero em pytorch",
        "nosso modelo de recomendação piorou em produção, os dados de treino eram de antes da pandemia",
        "fiz fine-tuning de um modelo pequeno pra classificar chamados de suporte, ficou ótimo",
        "vaga para cientista de dados com experiência em LLMs, remoto, manda DM",
        "o benchmark em português que usamos estava contaminado, refizemos toda a avaliação",
        "quantizei o modelo pra 4 bits e ele roda no meu notebook sem placa de vídeo",
    ],
    "es": [
        "entrenar un modelo de voz en catalán con pocos datos es un reto precioso",
        "el modelo alucina citas bibliográficas, nunca uséis un LLM sin verificar las fuentes",
        "charla en el meetup de IA: cómo evaluamos nuestro sistema de RAG en producción",
        "nuestro clasificador de imágenes médicas funciona peor en hospitales que no estaban en el entrenamiento",
        "por fin terminé el curso de aprendizaje profundo, ahora a practicar con datos reales",
        "los embeddings multilingües funcionan sorprendentemente bien para buscar en español",
    ],
    "de": [
        "Modell auf unseren Support-Tickets feinjustiert, die Antworten sind deutlich besser",
        "KI-Verordnung der EU: für unsere Hochrisiko-Modelle brauchen wir jetzt eine Menge Dokumentation",
        "das neuronale Netz hat die Wasserzeichen im Datensatz gelernt statt der Tumore",
        "Vortrag über Evaluierung von Sprachmodellen auf Deutsch, Folien kommen morgen",
        "wir suchen eine ML-Engineerin für unser Team in Berlin, PyTorch und MLOps",
        "Quantisierung auf 4 Bit, und das Modell läuft endlich auf meinem Laptop",
    ],
    "fr": [
        "notre modèle de langue a appris les biais du jeu de données, il faut tout nettoyer",
        "j'ai enfin compris la rétropropagation en l'implémentant à la main",
        "conférence sur l'apprentissage automatique à Paris la semaine prochaine, qui y va ?",
        "on a distillé le gros modèle dans un petit pour le mobile, 95% de la qualité",
        "les embeddings de phrases pour regrouper les avis clients, ça marche vraiment bien",
        "offre de stage en apprentissage profond, vision par ordinateur, à Lyon",
    ],
}

BOTH_ROUND2: list[Row] = [
    (
        "PR to add flash attention support to the diffusers repo got merged, my first contribution to an ML lib",
        None,
        False,
    ),
    (
        "opened an issue on the vllm repo about OOM with long prompts, maintainers replied in an hour",
        None,
        False,
    ),
    ("the llama.cpp repo moves so fast that my fork is 400 commits behind after one week", None, False),
    (
        "pinned the transformers version after the last release broke our fine-tuning script, issue linked in the thread",
        None,
        True,
    ),
    (
        "reviewing a PR that adds a new quantization method to our inference library, the benchmarks in the description are great",
        None,
        False,
    ),
    (
        "our model training repo has a GitHub Action that fails the PR if eval accuracy drops more than 1 point",
        None,
        False,
    ),
    (
        "starred every repo from the NeurIPS datasets track, my github stars page is now a reading list",
        None,
        False,
    ),
    ("the ollama repo has 3k open issues and most of them are 'model X doesn't load'", None, False),
    (
        "Copilot now lets you pick Claude or GPT in the chat panel, the model choice actually matters for refactors",
        None,
        False,
    ),
    (
        "pushed the notebooks for the deep learning course to github, every lecture has a runnable colab",
        None,
        False,
    ),
    ("", _gh("huggingface/peft", "🤗 PEFT: State-of-the-art Parameter-Efficient Fine-Tuning"), False),
    (
        "",
        _gh(
            "vllm-project/vllm",
            "A high-throughput and memory-efficient inference and serving engine for LLMs",
        ),
        False,
    ),
    (
        "this is great",
        _gh("stanfordnlp/dspy", "DSPy: The framework for programming—not prompting—language models"),
        False,
    ),
    ("", _gh("mlc-ai/web-llm", "High-performance In-browser LLM Inference Engine"), False),
    (
        "",
        (
            "https://github.com/pytorch/pytorch/releases/tag/v2.6.0",
            "Release PyTorch 2.6 · pytorch/pytorch",
            "torch.compile support for Python 3.13, FP16 on x86 CPUs, and AOTInductor improvements.",
        ),
        False,
    ),
    (
        "",
        (
            "https://github.com/huggingface/transformers/pull/34211",
            "Add support for the new vision encoder by contributor · Pull Request #34211 · huggingface/transformers",
            "This PR adds the model, its processor and tests.",
        ),
        False,
    ),
    (
        "the repo for our paper on data pruning is up, scripts to reproduce every table",
        _gh("pruning-lab/less-is-more", "Code for 'Data Pruning for Pretraining'"),
        False,
    ),
    (
        "sent a PR to fix the tokenizer padding bug in sentence-transformers, tiny diff, big headache",
        None,
        False,
    ),
    (
        "the github issue thread on the whisper repo about hallucinated text in silences is a goldmine of workarounds",
        None,
        False,
    ),
    ("nanoGPT forks on GitHub are the new 'hello world' for ML students", None, False),
]

GH_ROUND2: list[Row] = [
    ("github went down right as I was about to push the fix. the universe has jokes", None, False),
    ("starring repos is my bookmarking system and I have 2,300 stars I'll never look at again", None, False),
    ("whoever designed the github PR review 'pending' state, I just want to talk", None, False),
    ("github actions runner images updated and now our build can't find python 3.9", None, False),
    ("the merge queue on github saved us from so many broken main branches", None, False),
    ("pro tip: 'gh repo clone' then 'gh pr create --fill' and you never open the browser", None, False),
    (
        "someone forked my repo, renamed it, and is selling it. open source license says... yeah it's allowed",
        None,
        False,
    ),
    ("archived my old side projects on github today, 40 repos, a graveyard of good intentions", None, False),
    ("github's contribution graph made me feel guilty for taking a vacation, turned it off", None, False),
    ("if the README doesn't say how to run it, I'm closing the tab. that's the rule", None, True),
    (
        "",
        (
            "https://github.com/sharkdp/hyperfine/releases/tag/v1.19.0",
            "Release v1.19.0 · sharkdp/hyperfine",
            "New export formats and a fix for shell spawning overhead.",
        ),
        False,
    ),
    (
        "big fan of this",
        _gh("dandavison/delta", "A syntax-highlighting pager for git, diff, grep, and blame output"),
        False,
    ),
]

GH_INTL: dict[str, list[str]] = {
    "ja": ["GitHubのプルリクでレビュー待ちが一週間続いてる", "GitHub Actionsの無料枠、今月もう使い切った"],
    "pt": [
        "o GitHub caiu bem na hora do deploy, que sorte",
        "organizei todos os meus projetos antigos no GitHub e arquivei metade",
    ],
    "es": [
        "GitHub Actions me está cobrando minutos que no usé, ¿a alguien más?",
        "mi repositorio en GitHub llegó a 100 estrellas, gracias a todos",
    ],
    "de": [
        "GitHub ist schon wieder down, kein Push möglich",
        "mein erster Pull Request bei einem großen Open-Source-Projekt wurde angenommen",
    ],
    "fr": [
        "GitHub est encore en panne, impossible de pousser mon code",
        "ma première pull request acceptée sur un gros projet open source !",
    ],
}

EVERYDAY = [
    "morning run done, coffee brewing, let's go",
    "why is every cereal box half air",
    "the dog learned to open the fridge. we are doomed",
    "my cat just knocked a full glass of water onto my laptop charger and looked me in the eye",
    "pancakes for dinner because I'm an adult and I can",
    "just watched the season finale and I have QUESTIONS",
    "the referee should be banned for life for that call",
    "what a match! five sets and a tiebreak, my heart can't take it 🎾",
    "my team lost again. this is fine. everything is fine",
    "local election results are in and turnout was embarrassing, we have to do better",
    "the mayor's new budget cuts libraries again. write to your council member",
    "protest downtown was peaceful and huge, proud of this city",
    "finished the crossword in pen for the first time ever",
    "my sourdough starter has a name and a personality now",
    "spring cleaning turned into finding old letters and crying on the floor",
    "the neighbor's rooster starts at 4:45, I know because I'm awake",
    "bought way too many plants at the nursery again, no regrets",
    "road trip playlist suggestions? need 8 hours of bangers",
    "airport delays are a lifestyle now",
    "my kid asked why the moon follows the car and I did not have a good answer",
    "teacher appreciation week!! shoutout to my kid's kindergarten teacher who has the patience of a saint",
    "first day at the new job, everyone's nice and I already got lost twice",
    "quit my job today. terrified. excited. mostly terrified",
    "my landlord finally fixed the heating after 3 weeks of emails",
    "the price of eggs is a crime",
    "new tattoo! my grandmother's handwriting 🖤",
    "doodled during the meeting, here's a frog in a hat",
    "sketchbook page from today, trying gouache for the first time",
    "photography: fog over the harbor at 6am, worth the alarm",
    "finished reading 50 books this year, my goal was 30",
    "the library book I returned late was a book about time management. yes",
    "my grandma turned 95 today and she's still beating everyone at cards",
    "we adopted a second cat and the first cat is filing a formal complaint",
    "guinea pig update: she has learned to wheek when she hears the fridge",
    "the horse show this weekend was a mud festival but we placed 2nd",
    "weather app said sunny, it is hailing",
    "thunderstorm rolling in, the dog is under the bed",
    "summer fridays are the best workplace policy ever invented",
    "the queue at the post office is a social experiment",
    "my neighbor plays the trumpet every evening and honestly he's getting better",
    "made soup. it's soup weather. soup",
    "thanksgiving menu planning has begun and I'm already stressed",
    "the band announced a reunion tour and I'm trying to stay calm",
    "karaoke last night, I have no voice today and no regrets",
    "went to a museum and the best thing was a tiny painting of a dog in the corner",
    "our kid's school play was chaos and I loved every second",
    "nothing like a 3 hour meeting to make you question everything",
    "the office coffee machine broke and productivity went to zero",
    "monday again?? who approved this",
    "gym at 6am crowd is a different species",
    "swimming lessons at 35, the kids in the next lane are faster than me",
    "new bike day!! 🚲",
    "the festival lineup just dropped and it's mostly bands I've never heard of, I'm old",
    "anyone have recs for a cheap hotel in lisbon?",
    "we're getting married!!! 💍",
    "RIP to my favorite jeans, 8 years of service",
    "sunday reset: laundry, groceries, staring at the wall",
    "hot chocolate season has officially started",
    "the way this city gets when it snows, everything goes quiet",
    "the ferry was canceled so we're stuck on the island one more day, oh no",
    "baseball is back and so is my blood pressure",
    "world cup qualifier tonight, the whole street is wearing jerseys",
    "this election ad is so bad it's almost good",
    "housing costs are the number one issue here and nobody in power is acting like it",
    "school board meeting ran till midnight, democracy is exhausting",
    "proud of my niece, she won the regional spelling bee!",
    "our garden zucchini are now the size of baseball bats",
    "the apple pie came out perfect, recipe in alt text",
    "got a flat tire in the rain, a stranger stopped to help. people are good",
    "bookshop cat sat on the book I wanted to buy. I bought a different book",
]

EVERYDAY_REPLIES = [
    "haha exactly",
    "this made my day 😂",
    "wait really??",
    "same here honestly",
    "sending hugs 💛",
    "so beautiful!!",
    "congratulations, well deserved!",
    "I needed to hear this today",
    "where is this? looks amazing",
    "no way, that's hilarious",
    "this is the content I'm here for",
    "ugh I'm so sorry",
    "yes!! more of this",
    "absolutely not lol",
    "happy birthday!! 🎂",
    "oh that's adorable",
]

EVERYDAY_CARDS: list[Row] = [
    (
        "",
        (
            "https://apnews.com/article/storm-coast-evacuation",
            "Coastal towns evacuate ahead of powerful storm",
            "Officials urged residents to leave low-lying areas as the storm strengthened overnight.",
        ),
        False,
    ),
    (
        "this is infuriating",
        (
            "https://www.nytimes.com/2025/10/03/us/rent-prices.html",
            "Rents Rise Again in Most Major Cities",
            "A new report finds rent growth outpacing wages for the fourth straight year.",
        ),
        False,
    ),
    (
        "",
        (
            "https://www.espn.com/nba/story/_/id/4242",
            "Rookie drops 40 in debut as team rallies late",
            "The first overall pick scored 40 points in a comeback win on Tuesday.",
        ),
        False,
    ),
    (
        "recipe of the week",
        (
            "https://cooking.nytimes.com/recipes/102345-roasted-squash-soup",
            "Roasted Squash Soup With Sage",
            "A cozy, silky soup for cold evenings.",
        ),
        False,
    ),
    (
        "",
        (
            "https://www.youtube.com/watch?v=lofi24",
            "lofi beats to study and relax to 24/7",
            "Live radio of chill beats.",
        ),
        False,
    ),
    (
        "go read this",
        (
            "https://www.theatlantic.com/culture/archive/2025/09/book-clubs/",
            "The Return of the Book Club",
            "Why reading together is having a moment.",
        ),
        False,
    ),
]

EVERYDAY_INTL: dict[str, list[str]] = {
    "ja": [
        "今日は雨だから映画を観に行った",
        "新しいカフェのチーズケーキが最高",
        "子供の運動会、全力で応援して声が枯れた",
        "犬の散歩中に虹が出た",
        "電車が遅れて会議に間に合わなかった",
        "週末は実家で餃子パーティー",
    ],
    "pt": [
        "o show de ontem foi inesquecível, ainda estou sem voz",
        "feijoada no sábado com a família toda",
        "meu gato dormiu em cima do teclado de novo",
        "trânsito infernal hoje, duas horas pra chegar em casa",
        "eleição municipal chegando, pesquise seus candidatos",
        "terminei de ler um livro incrível, recomendo demais",
    ],
    "es": [
        "qué partidazo el de anoche, el Betis no deja de sorprender",
        "mi abuela cumple 90 años y sigue haciendo las mejores croquetas",
        "llueve y tengo chocolate caliente, plan perfecto",
        "el alquiler en Madrid es una locura",
        "mi gata ha aprendido a abrir los armarios",
        "domingo de mercadillo y churros",
    ],
    "de": [
        "Der Zug hatte wieder 40 Minuten Verspätung, danke Bahn",
        "Sonntagsspaziergang im Nebel, sehr stimmungsvoll",
        "Mein Hund hat heute einen Igel gefunden und war sehr verwirrt",
        "Weihnachtsmarkt eröffnet, Glühwein Nummer eins erledigt",
        "Die Mieten in München sind einfach absurd",
        "Heute Kuchen für die Nachbarn gebacken",
    ],
    "fr": [
        "le marché du dimanche, les fromages, le bonheur simple",
        "mon chat refuse de sortir sous la pluie, je le comprends",
        "match incroyable hier soir, quelle remontée",
        "les loyers à Paris sont devenus délirants",
        "premier jour de vacances, je ne fais rien et c'est parfait",
        "ma grand-mère m'a appris sa recette de tarte aux pommes",
    ],
}

HARD_NEGATIVES = [
    "deep learning moment: realized I've been holding my breath in every meeting for years",
    "big learning curve at the new job but my brain is slowly adapting",
    "my neural pathways are 90% song lyrics from 2004",
    "brain plasticity lecture blew my mind, the hippocampus literally grows new neurons",
    "neuroscience fact of the day: your brain uses 20% of your energy just sitting there",
    "cognitive psychology exam tomorrow, memorizing every memory model ironically",
    "the weather model runs disagree wildly about the weekend storm track",
    "the hurricane models all agree now, it's heading north",
    "the economic model says rates will fall, my rent says otherwise",
    "my business model is buying too many books and hoping",
    "the captain and first officer did a great job landing in that crosswind, applause from the whole cabin",
    "flight deck tour for the kids, the first officer let them sit in the seat",
    "training the puppy to sit is going great, he sits whenever he wants",
    "my coach's training plan has me running intervals at 6am, who hurt him",
    "in-context: my mom sent a voice message that's 7 minutes long",
    "attention span of a goldfish today, read the same email four times",
    "transformers marathon this weekend with the kids, all the movies, popcorn ready",
    "the new Transformers toy line is so detailed, my collection shelf is full",
    "power went out, the electrical transformer down the street caught fire",
    "the embedded chip in my dog's collar finally works with the app",
    "my tokens for the arcade ran out before my kid's patience did",
    "feature film of the year for me, no contest",
    "my paper on medieval trade routes got accepted! history nerds unite",
    "thesis defense went great, the committee asked about my fieldwork in the Andes",
    "the vision board I made in january is holding up surprisingly well",
    "pattern recognition is my superpower: I can spot a cat in any photo in 0.2s",
    "reinforcement learning with my toddler: sticker chart is working",
    "robots at the car factory tour were mesmerizing",
    "prompt for today's journal: what would you tell your younger self?",
    "the chat at my gaming stream was absolutely unhinged tonight",
    "grandpa's model railway in the attic has a working level crossing and tiny commuters",
    "N gauge starter set under the tree this year, the kids want a steam engine",
    "the model railroad club needs volunteers for the toy fair, running trains all weekend",
    "painted the little station for my train layout, the platform lamps actually light up",
    "my model locomotive collection has outgrown the shelf, the wife has noticed",
    "trainspotting trip to York, then the railway museum's scale models of every engine",
    "found my childhood model train set in mum's loft, the transformer for the track still works",
    "a wooden train set, a model farm and a box of blocks: the toddler's whole economy",
    "the hobby shop's model train set display has a tiny snowy village with a post office",
]

AI_CONSUMER = [
    "asked a chatbot to plan my trip and it booked me into a hotel that closed in 2019",
    "the AI voice on this customer service line called me 'valued customer' 11 times",
    "my phone's new AI feature summarized my group chat as 'people discussing feelings'",
    "AI 'art' in the library's event poster, the cat has five legs",
    "my aunt keeps sharing AI-generated photos of giant vegetables as if they're real",
    "the search engine's AI answer told me a tomato is a type of bird",
]


def _rows(name: str, labels: list[str], rows: list[Row], lang: str = "en", chunk: int = 3) -> Iterator[Gen]:
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]

        def make(part: list[Row] = part) -> list[dict]:
            return [{"text": text, "card": card, "reply": reply} for text, card, reply in part]

        yield f"r2-{name}{start // chunk}", labels, lang, make


def _lines(
    name: str, labels: list[str], lines: list[str], lang: str = "en", reply: bool = False, chunk: int = 3
) -> Iterator[Gen]:
    yield from _rows(name, labels, [(line, None, reply) for line in lines], lang, chunk)


def generators() -> Iterator[Gen]:
    yield from _lines("ml-slang", ML, ML_SLANG)
    yield from _rows("ml-card", ML, ML_CARDS)
    for lang, lines in ML_INTL.items():
        yield from _lines(f"{lang}-ml", ML, lines, lang=lang, chunk=2)
    yield from _rows("both", BOTH, BOTH_ROUND2)
    yield from _rows("gh", GH, GH_ROUND2)
    for lang, lines in GH_INTL.items():
        yield from _lines(f"{lang}-gh", GH, lines, lang=lang, chunk=2)
    yield from _lines("everyday", NONE, EVERYDAY, chunk=4)
    yield from _lines("everyday-reply", NONE, EVERYDAY_REPLIES, reply=True, chunk=4)
    yield from _rows("everyday-card", NONE, EVERYDAY_CARDS)
    for lang, lines in EVERYDAY_INTL.items():
        yield from _lines(f"{lang}-everyday", NONE, lines, lang=lang, chunk=2)
    yield from _lines("hard", NONE, HARD_NEGATIVES)
    yield from _lines("ai-consumer", NONE, AI_CONSUMER, chunk=2)
