"""Round 3 of hand-written posts: the ml topic's weak spots after round 2 (see LABELS.md, "Round 3").

- ML posts in the community's own slang, with no textbook word (quant formats, consumer GPUs, sampler
  settings, "vibes" evals, attention internals, training-run war stories);
- ML posts in ja, pt, es, de and fr in their own technical vocabulary (機械学習, ajuste fino, maschinelles
  Lernen, apprentissage automatique, ...), and their word traps (LL.M. courses, fashion models, gym
  training, language learning, apprentissage = apprenticeship, 推理小説, Transformator);
- posts about both where GitHub dominates the wording and the ML half is only a repo or library name;
- hard negatives that share the slang: gaming GPUs, figurative "deep learning", tokens, weights, layers,
  epochs, hallucinations, benchmarks of phones and cars.

Written by hand, one line each, without reading heldout.jsonl or fresh.jsonl. Every group here goes to
train.jsonl (generate.py), so heldout.jsonl stays as it was.
"""

# ruff: noqa: E501
from __future__ import annotations

from collections.abc import Iterator

from training.phrases.common import BOTH, ML, NONE, Gen, literal

ML_JARGON = [
    "Q4_K_M vs Q5_K_S on the 14B: can't tell them apart in chat, Q5 is noticeably better at code",
    "the GGUF quants are up within an hour of the release, the community is unreal",
    "exl2 at 4.65 bpw fits the 70B in 48GB with 16k context, bless",
    "AWQ vs GPTQ for serving: AWQ was faster on our A10s, same perplexity within noise",
    "pretraining a 125M on a single 4090 over the weekend, loss curve looks sane so far",
    "two used 3090s with NVLink are still the best deal for local finetunes, fight me",
    "my 4090 has been doing LoRA runs for three days straight, the room is a sauna",
    "the 24GB VRAM ceiling decides every architecture choice I make",
    "min_p 0.05 and temp 1.0 fixed the repetition loops, why is nobody using min_p by default",
    "top_k 40 top_p 0.9 rep penalty 1.1, the holy trinity of 2023 sampler settings",
    "our evals are vibes-based and I'm finally admitting it publicly",
    "vibe check on the new 8B: great at summarizing, falls apart on multi-hop questions",
    "benchmaxxed model tops the leaderboard and can't follow a two-step instruction",
    "LMArena elo moved 15 points and the discourse acts like it's AGI",
    "attention sinks explain why the first token soaks up so much attention mass, and why streaming breaks without it",
    "keeping the first 4 tokens in the KV cache as attention sinks let us stream for hours without the perplexity blowing up",
    "induction heads show up right at the bump in the loss curve, every time",
    "RoPE scaling to 32k worked until about 24k, then the model started repeating itself",
    "YaRN extension plus a short finetune and the 8k model handles 64k pretty well",
    "speculative decoding with a 0.5B draft model gave us 2.3x tokens/s on the 32B",
    "the loss spike at step 112k: rewound 2k steps, skipped that data shard, never saw it again",
    "grokking happened at epoch 4000 after it had memorized the train set at epoch 200. patience pays",
    "double descent in our own runs, the bigger model was worse before it was better",
    "muP transfer finally worked for us, the learning rate from the 40M model was right for the 1B",
    "FSDP vs DeepSpeed ZeRO-3: same throughput, FSDP errors are slightly less cursed",
    "NCCL timeout at 3am, rank 17 hung, the run died. distributed training is a lifestyle",
    "the BPE tokenizer merges ' the' and 'the' differently and it broke my eval parsing",
    "dedup the pretraining mix with minhash, then watch half your 'good' data disappear",
    "frankenmerge of two 7Bs into an 11B somehow scores higher than both parents. nobody knows why",
    "model soup of three finetunes beat each one on our held-out set",
    "DPO on 5k preference pairs made it way less preachy",
    "GRPO on math word problems: reward goes up, the reasoning traces get longer and weirder",
    "test-time compute scaling: letting it think 8x longer bought 11 points on the competition math set",
    "the reasoning model spent 4,000 tokens deciding whether 9.11 > 9.9",
    "the logprobs tell you when it's guessing, please look at them before trusting the output",
    "structured output with a grammar-constrained sampler and the JSON never breaks anymore",
    "KV cache quantization to 8 bit halved memory at long context, quality basically unchanged",
    "flash attention 3 on the H100s and our step time dropped 30%",
    "the slop phrases ('delve', 'tapestry', 'testament to') are a training data fingerprint at this point",
    "ollama run on the new 3B and it's shockingly usable on my M2 air",
    "LM Studio + a 12B quant is my offline coding buddy on flights now",
    "tokens per second on the Mac Studio: 38 for the 32B at Q4. unified memory is the cheat code",
    "system prompt leaking through the tool-call outputs is our agent's most persistent bug",
    "prompt injection via a retrieved web page made our agent email the wrong person. sandbox your tools",
    "jailbreak benchmark results are only as good as the refusal classifier grading them",
    "red-teamed the customer bot for a week, the worst hole was a multilingual prompt",
    "the reward model prefers longer answers regardless of content, classic length bias",
    "embedding model swap from 384 to 1024 dims cost us 3x storage for 2 points of recall",
    "chunk size 512 with 64 overlap is the RAG default nobody ever benchmarked",
    "contrastive pretraining on our own product images, zero-shot retrieval is now usable",
    "CLIP-style model confuses 'a dog on a horse' and 'a horse on a dog', compositionality is still hard",
    "diffusion sampler steps 20 vs 50: nobody in our user test could tell",
    "the ViT needs way more augmentation than the ResNet did on our tiny dataset",
    "sparse autoencoder features on layer 20: one fires for every mention of legal contracts",
    "linear probe recovers the board state from the chess model's activations at 95%",
    "the paper's gains disappear when you tune the baseline's learning rate. every time",
    "eval contamination check: 8% of the test questions are verbatim in the pretraining crawl",
    "inference cost per 1k tokens dropped 10x in a year and our margins still aren't great",
    "batching requests with continuous batching took our GPU util from 30% to 85%",
    "PEFT adapters hot-swapped per customer on one base model, that's our whole serving trick",
    "the 1.58-bit model is real and it's fast and I don't understand why it works",
    "my PhD in one tweet: the model learned the shortcut, not the task",
    "new job: ML infra at a robotics startup, mostly wrangling training data from 40 robots",
    "NeurIPS rebuttal period, I have explained the same ablation to three reviewers",
    "reviewer 2 asked us to compare against a model that came out after the deadline",
    "workshop paper on low-resource speech recognition accepted! first author!",
]

ML_REPLIES = [
    "did you try a lower learning rate for the LoRA? 2e-4 is too hot for that model size",
    "that's the tokenizer, not the model. check how it splits the numbers",
    "sounds like the eval set leaked into the finetune data",
    "use the instruct version, the base one just continues your prompt",
    "offload the KV cache to CPU, you'll lose speed but it'll fit",
    "your batch is too small for batchnorm, switch to layernorm or groupnorm",
    "is that a quant issue? try the Q8 and see if it goes away",
    "the reranker is doing all the work there, try it without and compare recall",
    "gradient checkpointing, it'll fit, it'll just take 30% longer",
]

ML_INTL: dict[str, list[str]] = {
    "ja": [
        "大規模言語モデルのファインチューニング、LoRAならRTX 4090一枚でも回せる",
        "機械学習の論文読み会、今週は拡散モデルのサンプリング高速化",
        "推論サーバーをvLLMに替えたらスループットが3倍になった",
        "評価データが学習データに混入してたのでベンチマークの数字は全部やり直し",
        "ローカルLLMをQ4で量子化したら日本語の敬語が崩れがち",
        "画像認識モデルの学習、データ拡張を増やしたら過学習が収まった",
        "埋め込みモデルを多言語版に替えたら日本語の検索精度が上がった",
        "深層学習の講義資料を公開しました、誤差逆伝播から注意機構まで",
        "強化学習のロス曲線が急に跳ねて学習が発散した、学習率を下げてやり直し",
        "生成AIの社内導入、まず評価セットを作るところから始めている",
        "トークナイザーが日本語を細かく分割しすぎて文脈長が足りない",
        "Kaggleの画像コンペ、アンサンブルで金圏入り",
        "音声認識モデルを方言データで追加学習したら誤り率が半分になった",
        "人工知能学会の発表スライド、自然言語処理の評価指標について",
    ],
    "pt": [
        "aprendizado de máquina na prática: 80% do tempo é limpar dados",
        "fiz o ajuste fino de um modelo de linguagem em português com LoRA numa 3090",
        "modelo de linguagem grande rodando local, quantizado em 4 bits, 20 tokens por segundo",
        "nosso RAG melhorou muito quando trocamos o modelo de embeddings por um multilíngue",
        "a perda do treinamento explodiu no passo 30 mil, reduzi a taxa de aprendizado e voltou",
        "artigo aceito na conferência de PLN! avaliamos LLMs em textos jurídicos brasileiros",
        "redes neurais convolucionais ainda ganham dos transformers no nosso dataset pequeno de raio-x",
        "inferência do modelo na CPU ficou lenta demais, vamos de GPU mesmo",
        "meu TCC é sobre detecção de discurso de ódio com aprendizado profundo",
        "o modelo alucina leis que não existem, cuidado ao usar IA generativa no direito",
        "vaga de engenheiro de machine learning, foco em MLOps e monitoramento de modelos",
        "conjunto de dados de avaliação em português saiu, finalmente um benchmark nosso",
        "destilação de conhecimento do modelo grande pro pequeno, perdemos só 2 pontos",
        "tokenizador trata acento como token separado e o modelo sofre com isso",
    ],
    "es": [
        "aprendizaje automático en producción: el modelo se degrada cuando cambian los datos",
        "hice ajuste fino de un modelo de lenguaje con LoRA en una sola GPU, funciona de maravilla",
        "los grandes modelos de lenguaje siguen fallando con los acentos del español rioplatense",
        "la pérdida de entrenamiento se disparó, bajé la tasa de aprendizaje y listo",
        "evaluamos cinco LLMs en preguntas médicas en español, ninguno pasa del 70%",
        "inferencia cuantizada en 8 bits, misma calidad y el doble de rápido",
        "redes neuronales para predecir la demanda eléctrica, mejor que el modelo estadístico de siempre",
        "charla sobre interpretabilidad de modelos en el congreso de IA de Valencia",
        "nuestro corpus de entrenamiento tenía duplicados, al limpiarlo el modelo mejoró",
        "busco doctorado en procesamiento del lenguaje natural, idealmente sobre lenguas indígenas",
        "el modelo de visión por computador confunde perros y lobos por la nieve del fondo",
        "los embeddings de oraciones sirven para agrupar reseñas, probado con 200k reseñas",
        "aprendizaje por refuerzo con retroalimentación humana explicado en un hilo",
        "la ley de IA europea nos obliga a documentar los datos de entrenamiento de nuestros modelos",
    ],
    "de": [
        "maschinelles Lernen im Mittelstand: das Problem sind nie die Modelle, immer die Daten",
        "großes Sprachmodell lokal mit 4-Bit-Quantisierung, 15 Tokens pro Sekunde auf der 3090",
        "Feinabstimmung mit LoRA auf deutschen Behördentexten, das Modell schreibt jetzt Amtsdeutsch",
        "neuronales Netz für die Qualitätskontrolle erkennt Kratzer besser als wir",
        "der Trainingsverlust ist nach 20k Schritten explodiert, Lernrate halbiert, läuft wieder",
        "Benchmark für deutsche Sprachmodelle: die meisten scheitern an Komposita",
        "Inferenz auf der CPU ist zu langsam, wir brauchen doch eine GPU",
        "Einbettungen für die semantische Suche im Firmenwiki, endlich findet man was",
        "Masterarbeit über erklärbare KI in der Medizin abgegeben",
        "Tokenizer zerlegt deutsche Wörter in absurde Stücke, kein Wunder dass das Modell schwächelt",
        "Wir suchen Data Scientists mit Erfahrung in Deep Learning und PyTorch, Standort Hamburg",
        "Vortrag: wie wir unser RAG-System evaluieren, ohne uns selbst zu belügen",
        "Deep Learning war nie so billig: vortrainiertes Modell, 500 Beispiele, fertig",
        "die KI-Verordnung verlangt Risikobewertung für unsere Bewerber-Ranking-Modelle",
    ],
    "fr": [
        "apprentissage automatique en production : le plus dur c'est la surveillance des modèles",
        "grand modèle de langage quantifié en 4 bits qui tourne sur mon portable, incroyable",
        "ajustement fin avec LoRA sur des textes juridiques français, résultats très corrects",
        "la perte d'entraînement a divergé, j'ai baissé le taux d'apprentissage",
        "réseau de neurones pour détecter les fraudes, ça marche mieux que nos règles",
        "inférence sur GPU partagée : on a mis en place le batching continu, débit x3",
        "évaluation des LLM en français : nos questions étaient dans les données d'entraînement",
        "thèse soutenue ! apprentissage profond pour la segmentation d'images satellites",
        "le tokeniseur découpe mal les mots français, le contexte se remplit trop vite",
        "on recrute un·e ingénieur·e MLOps à Nantes, PyTorch et Kubernetes",
        "atelier sur l'IA générative et l'évaluation des modèles à Grenoble",
        "les plongements de phrases multilingues marchent bien pour la recherche sémantique",
        "distillation d'un gros modèle vers un petit pour le téléphone, 3 points de perte",
        "le règlement européen sur l'IA impose de documenter nos jeux de données",
    ],
}

BOTH_GH_HEAVY = [
    "vllm merged my PR that fixes the prefix cache eviction bug, first time in their contributors list",
    "opened a PR against llama.cpp adding a new quant type, 200 comments later it's in",
    "the transformers repo's issue tracker is where I learn the most about tokenizers honestly",
    "starred every repo from the NeurIPS papers I liked, my GitHub stars page is now a reading list",
    "our eval harness runs as a GitHub Action on every PR and posts the benchmark diff as a comment",
    "CI on the PyTorch repo takes 4 hours, my one-line fix has been queued since lunch",
    "ggml got a PR for a faster matmul on ARM, the review thread is a free masterclass",
    "filed an issue on the diffusers repo: the scheduler ignores the seed on MPS",
    "the ollama repo hit 100k stars, local LLMs went mainstream",
    "forked nanoGPT on GitHub and swapped in rotary embeddings, repo link in replies",
    "our lab finally put the training code on GitHub, six months after the paper",
    "git blame on the tokenizer code in the transformers repo on GitHub: the bug is from 2021",
    "Copilot keeps suggesting a deprecated torch API in my training loop",
    "someone's GitHub issue about the LoRA merge bug saved me a whole day",
    "dependabot bumped transformers and now every fine-tuning test in CI fails",
    "the open-source reward model repo has no license file, opened an issue asking for one",
    "release notes for the new sentence-transformers version on GitHub: faster encode, new losses",
    "PR review on the llama.cpp repo is brutal and I love it",
    "moved our model training scripts into a public GitHub repo so people can reproduce the ablations",
    "GitHub Actions GPU runners for our model regression tests: pricey but so convenient",
    "that repo with 30k stars is a thin wrapper around an API call, tired of ML hype repos",
    "my PR to the unsloth repo adding a chat template got merged",
    "the mlx-examples repo has a clean LoRA script if you're on a Mac",
    "opened a draft PR to add our multilingual eval set to lm-evaluation-harness",
]

FIGURATIVE_AND_SLANG_NEGATIVES = [
    "deep learning happening this week: I learned I hate group projects",
    "some deep learning about patience today courtesy of a toddler and a zipper",
    "doing some deep learning on the history of my street, the archive folks are so kind",
    "the real deep learning was the friends we made along the way",
    "unsupervised learning: my kid taught himself to open the child lock",
    "my brain's training data is 40% Simpsons quotes",
    "my internal language model needs coffee before it produces a sentence",
    "I am hallucinating from lack of sleep, saw a cat that was a bag",
    "my 4090 runs the new racing game at 140 fps with ray tracing on, worth every cent",
    "finally upgraded to a 4090 for Cyberpunk and the case barely closes",
    "GPU prices are insane again, just want to play Elden Ring in 4K",
    "3090 for sale, only used for gaming, never mined on",
    "my phone's benchmark score is higher than my old laptop's. still can't last a day on battery",
    "new car scored top marks in the crash test benchmarks",
    "lifting weights for a year now, deadlift finally at 140kg",
    "fine-tuned my sourdough recipe: an extra hour of proofing did it",
    "fine-tuning the bike's gears before the race tomorrow",
    "layers of puff pastry, 729 of them, I counted (I did not count)",
    "wear layers, the weather model says it'll drop to -5 overnight",
    "the bus company's tokens still work on the night routes",
    "new epoch in my life: I own a label maker",
    "geology field trip: the rocks from the Jurassic epoch are right there in the cliff",
    "the loss of my grandmother still hits me at random moments",
    "attention please: the library book sale starts saturday at 9",
    "my attention span after 3 meetings is zero",
    "the performance evaluation at work was a vibes-based exercise, my manager admitted it",
    "quantum physics lecture: energy is quantized and so is my patience",
    "transformer hum from the substation behind our house keeps me up at night",
    "parameter of my patience: exceeded",
    "the regression in my knee after the marathon is real, back to physio",
    "crypto bros selling 'AI agent tokens' again, the charts go up and to the left",
    "new AI-themed memecoin launched and rugged in the same afternoon",
    "my model of the Millennium Falcon is almost done, 3 months of painting",
    "the runway models at the show were wearing recycled fabrics",
]

TRAPS_INTL: dict[str, list[str]] = {
    "ja": [
        "推理小説の最後の一行で犯人がわかって鳥肌",
        "鉄道模型のレイアウトに新しい駅を作った",
        "英語の学習アプリ、もう200日連続",
        "ジムのトレーニングで筋肉痛、階段がつらい",
        "ファッションモデルのポージング講座に行ってきた",
        "受験勉強で学習計画を立て直した",
        "プラモデルのガンダム、塗装に三週間かかった",
    ],
    "pt": [
        "comecei o LLM em direito internacional em Coimbra, aulas em inglês",
        "a modelo desfilou com um vestido feito de garrafas recicladas",
        "treino de perna hoje, amanhã não ando",
        "aprendizado de idiomas: seis meses de italiano e já peço pizza sem vergonha",
        "meu filho montou um modelo de avião de papel que voa muito bem",
        "o transformador do poste explodiu e o bairro inteiro ficou sem luz",
        "rede neural da minha cabeça travou depois de oito horas de reunião",
    ],
    "es": [
        "me matriculé en un LLM de derecho europeo en Salamanca",
        "la modelo de la pasarela de Madrid llevaba un diseño precioso",
        "entrenamiento para el maratón: 30 km este domingo",
        "aprendizaje de idiomas: el alemán me está costando la vida",
        "maqueta de tren de mi abuelo, con túneles y todo",
        "el transformador de la calle hace un ruido horrible por la noche",
        "mi hija está aprendiendo a tocar la guitarra y la casa suena a gato",
    ],
    "de": [
        "LL.M. in Steuerrecht angefangen, die Bibliothek ist mein neues Zuhause",
        "Das Model auf dem Laufsteg trug einen Mantel aus Filz, wunderschön",
        "Krafttraining zweimal die Woche, der Rücken dankt",
        "Vokabeln lernen für den Italienischkurs, Tag 40",
        "Die Modelleisenbahn im Keller hat jetzt eine Brücke und einen Bahnhof",
        "Der Transformator im Umspannwerk brummt die ganze Nacht",
        "tiefes Durchatmen und lernen, nein zu sagen",
    ],
    "fr": [
        "mon apprentissage de boulanger se termine en juin, trop hâte d'avoir mon CAP",
        "contrat d'apprentissage signé chez un menuisier, je commence lundi",
        "le mannequin portait une robe incroyable au défilé",
        "entraînement de foot sous la pluie, les gamins étaient ravis",
        "apprendre l'italien avec des chansons, ça marche plutôt bien",
        "mon fils a construit une maquette de train avec un vrai petit tunnel",
        "le copilote du rallye a lu les notes parfaitement, quelle course",
    ],
}


def _lines(
    name: str, labels: list[str], lines: list[str], lang: str = "en", reply: bool = False, chunk: int = 3
) -> Iterator[Gen]:
    return literal(f"r3-{name}", labels, lines, lang=lang, chunk=chunk, reply=reply)


def generators() -> Iterator[Gen]:
    yield from _lines("ml-jargon", ML, ML_JARGON)
    yield from _lines("ml-reply", ML, ML_REPLIES, reply=True)
    for lang, lines in ML_INTL.items():
        yield from _lines(f"{lang}-ml", ML, lines, lang=lang, chunk=2)
    yield from _lines("both-gh", BOTH, BOTH_GH_HEAVY)
    yield from _lines("hard", NONE, FIGURATIVE_AND_SLANG_NEGATIVES)
    for lang, lines in TRAPS_INTL.items():
        yield from _lines(f"{lang}-trap", NONE, lines, lang=lang, chunk=2)
