"""Write fresh.jsonl: a hand-written evaluation set, separate from the generated dataset.

Run: python -m training.fresh (writes firehose/classify/data/fresh.jsonl). Deterministic (fixed seed for ids and timestamps).

These posts were written one by one in a Bluesky voice, NOT from the templates or phrase pools of
training/generate.py / training/phrases/, so they measure how the classifier does on wordings and shapes it was never
built around: typos, emoji, hashtags, replies, link-only and card-only posts, the issue's word traps,
ordinary off-topic chatter (most of the real network) and about 10% non-English posts.
Training never reads this file (nor heldout.jsonl); do not tune thresholds on it either.
"""

# ruff: noqa: E501
from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from training import ai_rule
from training.generate import Builder

OUT = Path(__file__).resolve().parents[1] / "firehose" / "classify" / "data" / "fresh.jsonl"
SEED = 7301

G, M, B, N = ["github"], ["ml"], ["github", "ml"], []


def gh(repo: str, desc: str) -> tuple[str, str, str]:
    return (
        f"https://github.com/{repo}",
        f"GitHub - {repo}: {desc}",
        f"{desc}. Contribute to {repo} development by creating an account on GitHub.",
    )


def arxiv(num: str, title: str, abstract: str) -> tuple[str, str, str]:
    return (f"https://arxiv.org/abs/{num}", f"[{num}] {title}", abstract)


# (labels, lang, text, extras). In text, {L} is replaced by the next URL of extras["links"], shown the way
# a Bluesky client shows it (no scheme, long paths cut with "...").
POSTS: list[tuple[list[str], str, str, dict]] = [
    # ------------------------------------------------------------------ github
    (G, "en", "ok who broke github again 🙃 every push is a 500", {}),
    (G, "en", "github actions minutes ran out on the 19th. every month. cool cool cool", {}),
    (
        G,
        "en",
        "{L}",
        {
            "links": ["https://github.com/charmbracelet/gum"],
            "card": gh("charmbracelet/gum", "A tool for glamorous shell scripts 🎀"),
        },
    ),
    (
        G,
        "en",
        "",
        {
            "card": gh(
                "ghostty-org/ghostty",
                "👻 Ghostty is a fast, feature-rich, and cross-platform terminal emulator that uses platform-native UI and GPU acceleration",
            )
        },
    ),
    (
        G,
        "en",
        "TIL you can press . on any github repo and it opens the code in a browser editor. how did nobody tell me",
        {},
    ),
    (
        G,
        "en",
        "stars are a vanity metric and yet here i am refreshing the repo page every 10 min bc we hit the front page of HN",
        {},
    ),
    (
        G,
        "en",
        "there's an issue open for this already, thumbs-up it so they see demand {L}",
        {"links": ["https://github.com/neovim/neovim/issues/28213"], "reply": True},
    ),
    (
        G,
        "en",
        "Dependabot opened 14 PRs overnight and I have chosen violence (merged them all without reading)",
        {},
    ),
    (
        G,
        "en",
        "reminder that copilot is free for students, it's in the github education pack. don't pay for it",
        {},
    ),
    (G, "en", "copilot just autocompleted my ex's name into a variable name. microsoft we need to talk", {}),
    (
        G,
        "en",
        "new post: how we got CI from 40 min to 9 with actions caching and a matrix split 👇",
        {
            "card": (
                "https://blog.kestrel.dev/faster-ci",
                "Cutting our CI time by 77% with GitHub Actions",
                "Dependency caching, test sharding with a job matrix, and the one cache key mistake that cost us a week.",
            )
        },
    ),
    (
        G,
        "en",
        "writing a gh cli extension bc clicking through the web UI to re-run failed jobs is slowly killing me",
        {},
    ),
    (
        G,
        "en",
        "workshop repo is up! {L} slides are in /docs, see you saturday 🐼",
        {"links": ["https://github.com/pyladies-ber/intro-pandas"]},
    ),
    (
        G,
        "en",
        "PSA if your org enforces SAML SSO on github, your personal access tokens need to be re-authorized or your cron jobs fail silently. ask me how i know",
        {},
    ),
    (G, "en", "someone opened an issue on my 300-star lib demanding python 2.7 support. in this economy", {}),
    (
        G,
        "en",
        "moved the blog to github pages + hugo, hosting bill is now 0 🎉 {L}",
        {"links": ["https://annakowal.github.io"]},
    ),
    (
        G,
        "en",
        "tiny script to export your bsky likes to csv {L}",
        {"links": ["https://gist.github.com/tomasz-l/9f2c1e0b7a"]},
    ),
    (G, "en", "github notifications are completely unusable. 412 unread and every single one is a bot", {}),
    (
        G,
        "en",
        "protip: add a CODEOWNERS file to the repo so the right people get pinged for review instead of whoever's online",
        {},
    ),
    (G, "en", "MY FIRST PR GOT MERGED INTO A REAL PROJECT 😭 hands are literally shaking #opensource", {}),
    (
        G,
        "en",
        "finally 🎉",
        {
            "card": (
                "https://github.com/jqlang/jq/releases/tag/jq-1.8.0",
                "Release jq 1.8.0 · jqlang/jq",
                "Security fixes, new builtins and a faster parser. Full Changelog: jq-1.7.1...jq-1.8.0",
            )
        },
    ),
    (
        G,
        "en",
        "we're moving the org's repos off github to codeberg next month. not going to miss the upsell banners",
        {},
    ),
    (
        G,
        "en",
        "patch for the CVE is merged but not released yet, watch the repo for the tag {L}",
        {"links": ["https://github.com/expressjs/express/pull/6210"]},
    ),
    (
        G,
        "en",
        "this repo's issue tracker is a graveyard. 2k open issues and the last maintainer comment was in 2022",
        {},
    ),
    (G, "en", "gh pr checkout 1234 is the best command nobody uses", {}),
    (
        G,
        "en",
        "our github org got hit by a wave of fake 'security alert' issues linking to malware. report them if you see them pls",
        {},
    ),
    (
        G,
        "en",
        "curl -fsSL raw.githubusercontent.com/... | sh\n\ny'all really pipe random scripts into your shell huh",
        {},
    ),
    (G, "en", "went down the awesome-selfhosted rabbit hole and starred 30 repos. weekend gone", {}),
    (
        G,
        "en",
        "the new github code search is genuinely good, found every caller of a deprecated fn across 40 repos in one query",
        {"reply": True},
    ),
    (
        G,
        "en",
        "hot take: squash merge is the only correct PR merge strategy and the commit graph people can fight me",
        {},
    ),
    (
        G,
        "de",
        "GitHub Actions ist heute wieder mal quälend langsam, unsere Pipeline hängt seit 30 Minuten in der Queue",
        {},
    ),
    (G, "ja", "READMEに動くGIFを貼ったらGitHubのスターが倍になった。見た目大事", {}),
    (
        G,
        "es",
        "subí mi primer proyecto a GitHub 😅 es una app para dividir gastos entre amigos {L}",
        {"links": ["https://github.com/lucia-mdz/cuentas-claras"]},
    ),
    (G, "fr", "Quelqu'un sait pourquoi GitHub me redemande la 2FA à chaque connexion depuis hier ?", {}),
    (
        G,
        "pt",
        "abri meu primeiro pull request num projeto open source e o mantenedor respondeu em 10 minutos, que alegria",
        {},
    ),
    # ------------------------------------------------------------------ ml
    (
        M,
        "en",
        "the new qwen coder is scary good at sql. ran it on our internal eval and it beat the api model we pay for",
        {},
    ),
    (M, "en", "reading group tomorrow: DeepSeek-R1 paper. bring your GRPO questions, i have many", {}),
    (
        M,
        "en",
        "",
        {
            "card": arxiv(
                "2502.11034",
                "Test-Time Scaling Without Verifiers",
                "We show that sampling many reasoning traces and aggregating by self-consistency recovers most of the gains of verifier-guided search at a fraction of the inference cost.",
            )
        },
    ),
    (
        M,
        "en",
        "this is a banger",
        {
            "card": arxiv(
                "2410.17812",
                "Tokenizer Choice Matters More Than You Think for Multilingual Pretraining",
                "Across 12 languages, vocabulary allocation explains up to 30% of the downstream gap between English and low-resource languages.",
            )
        },
    ),
    (
        M,
        "en",
        "{L}",
        {
            "links": ["https://huggingface.co/datasets/bigcode/the-stack-v2"],
            "card": (
                "https://huggingface.co/datasets/bigcode/the-stack-v2",
                "bigcode/the-stack-v2 · Datasets at Hugging Face",
                "We're on a journey to advance and democratize artificial intelligence through open source and open science.",
            ),
        },
    ),
    (
        M,
        "en",
        "fine-tuned whisper on my grandma's dialect recordings, WER went from 48% to 21%. small data, big difference 🥲",
        {},
    ),
    (
        M,
        "en",
        "does anyone have a good intuition for why cosine LR decay beats linear here? same warmup, same everything",
        {},
    ),
    (
        M,
        "en",
        "ollama + a 7b model on my old thinkpad is honestly fine for summarizing emails. no cloud needed",
        {},
    ),
    (
        M,
        "en",
        "model collapse discourse is back. training on synthetic data isn't automatically bad, it's all in the filtering",
        {},
    ),
    (
        M,
        "en",
        "we're hiring an ML engineer for the ranking team! pytorch, offline/online metric gaps, remote EU. DMs open",
        {},
    ),
    (
        M,
        "en",
        "NeurIPS reviews are out and reviewer 2 thinks our baseline is 'suspiciously strong'. ok then",
        {},
    ),
    (
        M,
        "en",
        "most RAG failures are retrieval failures, not generation failures. fix your chunking before you swap the LLM",
        {},
    ),
    (
        M,
        "en",
        "vector db benchmarks are 90% marketing. just use pgvector for your embeddings until it actually hurts",
        {},
    ),
    (
        M,
        "en",
        "my 4090 is screaming. day 3 of pretraining a tiny llama on public domain children's books",
        {},
    ),
    (
        M,
        "en",
        "changed nothing but the prompt template and the eval score jumped 10 points. benchmarks are vibes",
        {},
    ),
    (
        M,
        "en",
        "🧵 the EU AI Act obligations for general-purpose AI models kick in this August. if you release weights you owe a training data summary. what that means for open models:",
        {},
    ),
    (M, "en", "what's everyone using to train tokenizers these days, still sentencepiece?", {"reply": True}),
    (M, "en", "quantized it to Q4_K_M and it still gets my test questions right. gguf is witchcraft", {}),
    (
        M,
        "en",
        "wrote up what we learned serving LLMs at 2k req/s",
        {
            "card": (
                "https://engineering.parcelly.com/llm-serving",
                "Serving LLMs at 2,000 requests per second",
                "Continuous batching, paged KV cache, and why our p99 latency was a tokenizer problem.",
            )
        },
    ),
    (
        M,
        "en",
        "found a sparse autoencoder feature that fires only on passive-aggressive emails. interpretability is fun",
        {},
    ),
    (
        M,
        "en",
        "people ask if they should still learn ML. yes. start with linear regression and actually understand the loss",
        {},
    ),
    (
        M,
        "en",
        "the attention sink thing finally clicked for me today and now I see it in every attention map",
        {},
    ),
    (
        M,
        "en",
        "our churn model was 'great' until we noticed it had learned the customer ID. leakage strikes again",
        {},
    ),
    (
        M,
        "en",
        "kaggle comp is over, 43rd of 2k teams, mostly boring feature engineering and a LightGBM lol",
        {},
    ),
    (
        M,
        "en",
        "did you try a lower learning rate? that loss spike around step 8k looks like classic instability",
        {"reply": True},
    ),
    (
        M,
        "en",
        "tried DSPy for a week. it's good once you stop thinking of prompts as strings and start thinking of them as parameters",
        {},
    ),
    (M, "en", "MLOps is 80% figuring out which version of the data the model was trained on", {}),
    (M, "en", "ICML deadline week. see you on the other side ☠️ #MachineLearning", {}),
    (
        M,
        "en",
        "swapped ada-002 for a 100M open embedding model for code search, recall barely moved and latency dropped 5x",
        {},
    ),
    (M, "en", "RLHF is just spicy supervised learning and I will die on this hill", {}),
    (M, "en", "gradient checkpointing saved the run. 30% slower but it fits on one card now", {}),
    (M, "en", "the model card says 'not for medical use' and the launch demo is... a medical chatbot", {}),
    (
        M,
        "en",
        "Claude vs GPT-4o on reviewing our backend code: one finds more bugs, the other invents fewer APIs. n=40, grain of salt",
        {},
    ),
    (
        M,
        "en",
        "the eval set for that leaderboard is on the public web. of course the scores went up",
        {"reply": True},
    ),
    (
        M,
        "en",
        "diffusion models for protein binder design are getting absurd, one-shot designs with nanomolar affinity",
        {},
    ),
    (
        M,
        "en",
        "AI safety folks and AI ethics folks are arguing again while nobody evaluates the systems that are actually deployed",
        {},
    ),
    (
        M,
        "en",
        "local LLM setup finally done: llama.cpp server, 8B instruct model, 40 tok/s on the mac mini",
        {},
    ),
    (
        M,
        "pt",
        "Treinei um classificador de sentimentos em português com BERTimbau e cheguei a 91% de acurácia 🎉",
        {},
    ),
    (
        M,
        "pt",
        "alguém recomenda curso de deep learning em português? quero entender de verdade como funcionam os transformers",
        {},
    ),
    (
        M,
        "es",
        "¿Alguien ha hecho fine-tuning de Llama con LoRA en una GPU de 12GB? ¿vale la pena o me quedo con la API?",
        {},
    ),
    (
        M,
        "es",
        "mi tesis es sobre detección de noticias falsas con redes neuronales, ¿me recomiendan datasets en español?",
        {},
    ),
    (
        M,
        "de",
        "Unser Sprachmodell halluziniert bei deutschen Komposita ständig. Hat jemand Tipps zur Tokenisierung?",
        {},
    ),
    (
        M,
        "fr",
        "Les benchmarks de LLM en français sont franchement insuffisants, on a monté notre propre jeu d'évaluation",
        {},
    ),
    (M, "ja", "社内文書でRAGを組んでみたけど、結局いちばん効いたのはチャンク分割の工夫だった", {}),
    (M, "ja", "拡散モデルの論文、数式が多すぎて三回読んでもまだわからない", {}),
    (
        M,
        "fr",
        "",
        {
            "card": arxiv(
                "2406.20094",
                "Apprentissage auto-supervisé de représentations de la parole pour le français",
                "Nous pré-entraînons des modèles wav2vec 2.0 sur 14 000 heures de parole française et évaluons sur cinq tâches.",
            )
        },
    ),
    # ------------------------------------------------------------------ both
    (
        B,
        "en",
        "code for our ACL paper is finally public, incl. the eval scripts people kept emailing about: {L}",
        {"links": ["https://github.com/nlp-tuebingen/faithful-summ"]},
    ),
    (B, "en", "", {"card": gh("ggml-org/llama.cpp", "LLM inference in C/C++")}),
    (B, "en", "vllm merged my PR adding the new rope scaling variant 🥹 i'm in the release notes", {}),
    (
        B,
        "en",
        "built a github action that runs our LLM eval suite on every PR and comments the score diff. regressions can't sneak in anymore",
        {},
    ),
    (
        B,
        "en",
        "copilot switched its default model this week and my completions got noticeably worse. anyone else?",
        {},
    ),
    (
        B,
        "en",
        "someone reimplemented GPT-2 training in ~1k lines of plain C {L}",
        {"links": ["https://github.com/karpathy/llm.c"]},
    ),
    (
        B,
        "en",
        "the latest transformers release broke tokenizer loading for us, there's already an issue open {L}",
        {"links": ["https://github.com/huggingface/transformers/issues/35012"]},
    ),
    (
        B,
        "en",
        "anyone know a repo on github with a clean, readable DPO implementation? the trl one does a lot",
        {},
    ),
    (B, "en", "weights on HF, code on GitHub, paper on arXiv, sanity nowhere", {}),
    (B, "en", "github is full of abandoned awesome-llm lists where half the links 404", {}),
    (
        B,
        "en",
        "first contribution to scikit-learn merged! the reviewers walked me through the whole estimator API in the PR comments",
        {},
    ),
    (
        B,
        "de",
        "Der Code zu unserem Paper über Sprachmodelle liegt jetzt auf GitHub, Feedback sehr willkommen",
        {},
    ),
    (B, "ja", "GitHubで公開されてるLLM評価ツール、日本語タスクも入ってて便利だった", {}),
    (
        B,
        "en",
        "ml folks: the whisper repo finally has an issue template, please use it before asking why your GPU is slow",
        {},
    ),
    # ------------------------------------------------------------------ traps (neither)
    (
        N,
        "en",
        "congrats to my sister who just finished her LLM at Georgetown!! 🎓 international tax law, absolute beast",
        {},
    ),
    (N, "en", "LL.M. applications due friday and my personal statement is at 200 words 😭", {}),
    (N, "en", "the models at the Valentino show walked like they were late for a train and I loved it", {}),
    (
        N,
        "en",
        "my daughter wants to be a model when she grows up. last week it was a vet, before that a volcano",
        {},
    ),
    (N, "en", "kiddo got the Bumblebee transformer for his birthday and hasn't put it down once", {}),
    (N, "en", "rewatching the 1986 Transformers movie, the soundtrack still absolutely rips", {}),
    (
        N,
        "en",
        "found a ball python in our garage?? in Ohio?? he's chilling in a box until animal control gets here",
        {},
    ),
    (N, "en", "Holy Grail is on tonight. 'tis but a scratch 🐴🥥 #MontyPython", {}),
    (N, "en", "our python shed last night, one piece, nose to tail 🐍 so proud of her", {}),
    (N, "en", "our CI all lives on gitlab now and honestly the pipeline editor is nice", {}),
    (
        N,
        "en",
        "{L}",
        {
            "links": ["https://codeberg.org/forgejo/forgejo"],
            "card": (
                "https://codeberg.org/forgejo/forgejo",
                "forgejo/forgejo: Beyond coding. We forge. - Codeberg.org",
                "Forgejo is a self-hosted lightweight software forge.",
            ),
        },
    ),
    (N, "en", "sending patches to a sourcehut mailing list is a rite of passage", {}),
    (N, "en", "git outta here with that pineapple pizza slander", {"reply": True}),
    (N, "en", "you daft old git, you left your keys in the fridge again", {}),
    (
        N,
        "en",
        "copilot just came on the PA to say we're circling Heathrow for another 20 min. pray for me",
        {},
    ),
    (N, "en", "co-pilot duties on a road trip: control the aux, manage the snacks, never fall asleep", {}),
    (N, "en", "20 week scan today, everything looks perfect, neural tube closed normally 🥹💛", {}),
    (
        N,
        "en",
        "spent all saturday ballasting track on the HO model railroad, the yard finally looks real",
        {},
    ),
    (
        N,
        "en",
        "learning italian on duolingo, 200 day streak and I still can't order a coffee without panicking",
        {},
    ),
    (N, "en", "learning bass at 40, my fingertips hate me but the neighbours hate me more", {}),
    (N, "en", "the gradient wash on this watercolor sky took four tries 🎨 #watercolor", {}),
    (N, "en", "new hair: pink to purple gradient 💜 my stylist is an artist", {}),
    (N, "en", "$NEURA AI token up 400% today, AI coin season is HERE don't fade it 🚀🚀🚀", {}),
    (N, "en", "training for my first half marathon, week 6 long run done in the pouring rain", {}),
    (N, "en", "still fine-tuning the sourdough, this loaf finally has an open crumb 🍞", {}),
    (N, "en", "deep learning experience this week: I learned I'm bad at saying no", {}),
    (
        N,
        "en",
        "the neuroscience lecture on synaptic plasticity today was unreal, how do brains even work",
        {},
    ),
    (N, "en", "the transformer on our street blew and the whole block lost power for 6 hours", {}),
    (N, "en", "role model energy: my 80 year old neighbour shovelling every driveway on the street", {}),
    (N, "en", "that last km of the climb is a 12% gradient and my legs are filing a complaint", {}),
    (N, "en", "he's a model citizen, returns his shopping cart every single time", {}),
    (N, "en", "drawing prompt of the week: your OC in the style of a childhood cartoon! #artprompt", {}),
    (N, "en", "fashion week street style photos are the only content I need rn", {}),
    (N, "en", "built a 1:72 scale model of a Spitfire with my dad, took us all winter", {}),
    (N, "en", "the model predicted 2 inches of snow and we got 14. meteorologists owe me a shovel", {}),
    (N, "de", "Am Wochenende die Modelleisenbahn im Keller erweitert, jetzt mit Tunnel und Bahnhof", {}),
    (N, "fr", "le copilote a fait l'annonce en trois langues, franchement impressionnant", {}),
    (N, "pt", "a modelo da capa da Vogue desse mês é brasileira!! que orgulho", {}),
    (N, "ja", "ボールパイソンの脱皮、今回もきれいに脱げた🐍", {}),
    (N, "es", "aprendiendo italiano para el viaje de verano, ya sé pedir un café y perderme", {}),
    # ------------------------------------------------------------------ everyday (neither)
    (N, "en", "made the lemon pasta everyone's been posting and yeah it lives up to the hype 🍋", {}),
    (N, "en", "the cat has decided 4am is zoomies o'clock", {}),
    (N, "en", "anyone else's dog hate the vacuum this much or is mine just dramatic", {}),
    (N, "en", "WHAT A GOAL. that's the goal of the season, don't @ me ⚽", {}),
    (N, "en", "refs were blind tonight but we'll take the W 🏀", {}),
    (
        N,
        "en",
        "call your representatives about the housing bill, the vote is thursday. numbers are in the alt text",
        {},
    ),
    (N, "en", "voting takes 10 minutes. find your polling place and go", {}),
    (N, "en", "finished my first quilt!! it's crooked and I love it", {}),
    (N, "en", "new painting! acrylic on canvas, the lake at dawn #art #painting", {}),
    (N, "en", "good morning bluesky ☕", {}),
    (N, "en", "it's 34 degrees and my apartment has no AC, I am soup", {}),
    (N, "en", "just finished Piranesi and I need to lie down for a while", {}),
    (N, "en", "what are you all reading this week? I need something cozy", {}),
    (N, "en", "hot dog is a sandwich and I have the receipts", {"reply": True}),
    (N, "en", "lmao", {"reply": True}),
    (N, "en", "this is so true it hurts", {"reply": True}),
    (N, "en", "omg congrats!!! 🎉🎉", {"reply": True}),
    (N, "en", "thank you so much, that means a lot ❤️", {"reply": True}),
    (N, "en", "the new season of the bake off is so wholesome, the pastry week nearly killed me", {}),
    (N, "en", "my toddler just called a horse a 'big dog' and honestly fair", {}),
    (N, "en", "rent went up 18% and my landlord sent a smiley face with the letter", {}),
    (N, "en", "grocery prices are out of control, $7 for a block of cheese??", {}),
    (N, "en", "birding report: 2 herons, a kingfisher and one very angry goose 🪿", {}),
    (N, "en", "the tomatoes are finally ripening, garden update in the replies 🍅", {}),
    (N, "en", "trying to get back into running after an injury, 3k today felt like 30", {}),
    (N, "en", "concert last night was incredible, my ears are still ringing", {}),
    (N, "en", "the new album is a grower, first listen meh, third listen obsessed", {}),
    (N, "en", "commission slots open! 3 spots, DM me 🖌️ #commissionsopen", {}),
    (N, "en", "my plant died again. I give it water, light, love. it gives up", {}),
    (N, "en", "meeting that could've been an email, part 47", {}),
    (N, "en", "it's friday and I have accomplished nothing this week but vibes", {}),
    (N, "en", "canceled my streaming subscriptions and got a library card, best decision of the year", {}),
    (N, "en", "the sunset tonight 🌅 no filter", {}),
    (N, "en", "reminder to drink water and be kind to yourself today", {}),
    (N, "en", "does anyone know a good vet in east portland? our old guy is limping", {}),
    (N, "en", "first snow of the year!! the dog is losing his mind ❄️🐕", {}),
    (N, "en", "we won the pub quiz by one point because I knew the capital of Burkina Faso", {}),
    (N, "en", "my knitting is 60% mistakes and 40% yarn", {}),
    (N, "en", "the F1 race was a snoozefest until the last 5 laps 🏎️", {}),
    (N, "en", "trade deadline moves were a disaster, this front office needs to go", {}),
    (N, "en", "senate hearing today was a circus, the clips don't even capture how bad it was", {}),
    (N, "en", "the council approved the new bike lanes!! showing up to meetings works, people", {}),
    (
        N,
        "en",
        "climate report dropped and it's grim but there are a few good bits in section 4",
        {
            "card": (
                "https://www.theguardian.com/environment/2025/nov/12/climate-report",
                "UN climate report: emissions must halve by 2030",
                "The latest assessment warns current pledges fall far short, but finds renewables growing faster than expected.",
            )
        },
    ),
    (
        N,
        "en",
        "",
        {
            "card": (
                "https://www.bbc.com/sport/football/articles/c0lz3x",
                "Late winner sends City top of the table",
                "A stoppage-time header settled a tense derby on Sunday afternoon.",
            )
        },
    ),
    (
        N,
        "en",
        "lol",
        {
            "card": (
                "https://www.youtube.com/watch?v=Qd8zT1",
                "Cat vs cucumber compilation 2025",
                "The best reactions of the year.",
            )
        },
    ),
    (N, "en", "starter pack of my favourite comic artists on here, go follow them all", {}),
    (N, "en", "bsky feels like early twitter in the good way", {}),
    (N, "en", "my laptop fan sounds like a jet engine when I open more than 3 tabs", {}),
    (N, "en", "finally switched to neovim and spent the whole weekend configuring it instead of working", {}),
    (N, "en", "postgres 17 upgrade went smoothly, pg_upgrade --link is a gift", {}),
    (N, "en", "rust borrow checker and I are no longer on speaking terms", {}),
    (N, "en", "css grid finally makes sense to me after 6 years of flexbox hacks", {}),
    (N, "en", "our kubernetes cluster is held together by yaml and prayers", {}),
    (N, "en", "the new iphone is just the old iphone in a different color, change my mind", {}),
    (N, "en", "my therapist said 'that's a lot' and honestly yes", {}),
    (N, "en", "happy pride month from me and my very gay cat 🏳️‍🌈", {}),
    (N, "en", "the bus was 40 min late and then two came at once. every time", {}),
    (N, "en", "I should be asleep", {}),
    (N, "en", "thinking about that one goose from the park again", {}),
    (N, "en", "ugh, stomach flu going around the office again. stay home if you're sick people!!", {}),
    (N, "en", "hiking the ridge trail this weekend, weather looks perfect 🥾", {}),
    (N, "en", "our library's seed exchange opens saturday, bring envelopes", {}),
    (N, "en", "wedding dress shopping with my sister today, cried in the first shop", {}),
    (N, "en", "the new exhibition at the Tate is worth it just for the second room", {}),
    (N, "en", "shoutout to the barista who spelled my name right on the first try", {}),
    (N, "en", "the teacher strike is about class sizes, not just pay. support your local teachers", {}),
    (N, "en", "I will never financially recover from this concert ticket price", {}),
    (N, "en", "Chappell Roan's tiny desk is on repeat in this house", {}),
    # consumer chatter about AI products: not technical or professional, so not ml (see LABELS.md)
    (
        N,
        "en",
        "asked chatgpt for a lasagna recipe and it told me to add glue. I'll stick with my nonna's",
        {},
    ),
    (
        N,
        "en",
        "every company's customer service is now a chatbot that can't do anything. let me talk to a human",
        {},
    ),
    (N, "en", "please stop sending me AI-generated birthday cards, it's weirder than no card", {}),
    # everyday in other languages
    (N, "pt", "bom dia! café, pão de queijo e chuva lá fora, domingo perfeito", {}),
    (N, "pt", "que jogo!!! o Flamengo virou nos acréscimos 🔴⚫", {}),
    (N, "es", "hoy hice tortilla de patatas por primera vez y no se me rompió 🥹", {}),
    (N, "es", "el perro se comió mi calcetín otra vez, vamos al veterinario", {}),
    (N, "de", "Endlich Wochenende. Kuchen gebacken, Balkon gegossen, Handy aus", {}),
    (N, "fr", "la boulangerie en bas de chez moi a fermé, je suis en deuil", {}),
    (N, "fr", "grève des transports demain, bon courage à tous", {}),
    (N, "ja", "今日のお昼は近所の定食屋さん。唐揚げが最高だった", {}),
    (N, "ja", "猫が段ボール箱から出てこない", {}),
    (N, "de", "Heute im Stadion gewesen, 2:1 in der Nachspielzeit, was für ein Spiel", {}),
]


def shown(url: str) -> str:
    bare = url.split("://", 1)[1]
    return bare[:27] + "..." if len(bare) > 30 else bare


def build() -> list[dict]:
    rng = random.Random(SEED)
    builder = Builder(rng)
    builder.clock = datetime(2026, 11, 20, 9, 0, tzinfo=UTC) - timedelta(days=1)
    rows = []
    for index, (labels, lang, text, extras) in enumerate(POSTS):
        links = []
        for url in extras.get("links", []):
            label = shown(url)
            text = text.replace("{L}", label, 1)
            links.append((label, url))
        record = builder.record(
            text, lang=lang, links=links, card=extras.get("card"), reply=extras.get("reply", False)
        )
        rows.append(ai_rule.relabel({"id": f"fresh-{index:03d}", "labels": labels, "record": record}))
    return rows


def main() -> None:
    rows = build()
    with OUT.open("w") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for row in rows:
        key = "+".join(row["labels"]) or "neither"
        counts[key] = counts.get(key, 0) + 1
    other = sum(row["record"]["langs"][0] != "en" for row in rows)
    print(len(rows), counts, f"non-English {other}")


if __name__ == "__main__":
    main()
