"""English phrasings: GitHub, ML, both, and neither (with the word traps as hard negatives)."""

# ruff: noqa: E501
from __future__ import annotations

import random
from collections.abc import Iterator

from training.phrases.common import (
    ARXIV,
    BOTH,
    GH,
    GH_REPOS,
    HF,
    LANGS,
    ML,
    ML_MODELS,
    ML_REPOS,
    ML_THINGS,
    NONE,
    VERSIONS,
    Gen,
    hf_card,
    issue_card,
    literal,
    pr_card,
    release_card,
    repo_card,
    templated,
)

# ---------------------------------------------------------------- GitHub, linked
GH_LINK_TEMPLATES = [
    "{proj} {ver} is out! faster startup and way better error messages. {URL}",
    "Just open-sourced {proj}: {desc_l}. Feedback and issues very welcome {URL}",
    "been using {proj} for a month and I'm not going back. {URL}",
    "TIL about {proj} — {desc_l}. {URL}",
    "starred {repo} on a whim last year and now it's in every project I touch {URL}",
    "if you haven't tried {proj} yet, this release is a good moment: {URL}",
    "my first contribution to {proj} got merged today 🥹 {URL}",
    "reminder that {proj} is maintained by like three people, go sponsor them {URL}",
    "New release of {proj} ({ver}). Lots of small fixes from first-time contributors, thank you all! {URL}",
    "ok {proj} is genuinely great software. {desc_l}. {URL}",
    "the README for {proj} is a masterclass in docs {URL}",
    "{proj} just crossed 10k stars 🎉 {URL}",
    "weekend project: forked {proj} to add the one feature I needed. PR incoming {URL}",
    "The {proj} maintainers closed 400 stale issues this week and honestly respect {URL}",
]
GH_CARD_ONLY = [
    "this is neat",
    "oh this is exactly what I needed",
    "bookmarking for later",
    "saw this on my timeline and had to share",
    "wow, tiny and fast",
    "someone finally built it",
    "👀",
    "adding this to my toolbox",
    "this looks like a fun weekend rabbit hole",
    "cc @devfriend.bsky.social you'll like this",
]
GH_ISSUES = [
    ("Crash on startup when config file is empty", "found the bug, filed it, now we wait {URL}"),
    (
        "Memory leak in watch mode",
        "if you're hitting the memory leak too, thumbs up the issue instead of commenting +1 {URL}",
    ),
    ("Support for Windows ARM64", "the ARM64 issue finally has a maintainer response {URL}"),
    ("Docs: installation instructions are out of date", "opened my first issue ever, be gentle {URL}"),
    (
        "Add option to disable telemetry",
        "this issue thread is 300 comments of people asking for a telemetry opt-out {URL}",
    ),
    (
        "Regression in 2.0: slow cold start",
        "confirmed the regression, bisected it to one commit, details in the issue {URL}",
    ),
]
GH_PRS = [
    ("Add dark mode to settings page", "my PR adding dark mode is up for review 🙏 {URL}"),
    ("Fix off-by-one in pagination", "a one character fix and it took me two days to find. PR: {URL}"),
    ("Rewrite the parser without regex", "3000 line PR incoming, sorry reviewers {URL}"),
    ("Bump dependencies and drop Python 3.8", "dependabot did 90% of this PR, I just fixed the tests {URL}"),
    ("Add Bluesky share button", "sent a PR to add a Bluesky share button, fingers crossed {URL}"),
]
GH_GIST_IO = [
    (
        "https://gist.github.com/anna-dev/3f2a9c1e7b",
        "here's the gist with my zsh prompt config since a few people asked {URL}",
    ),
    (
        "https://gist.github.com/kmurphy/9ab77e2",
        "tiny script to bulk-rename photos by EXIF date, put it in a gist: {URL}",
    ),
    ("https://gist.github.com/raj-p/a81c0de", "the gist that saved my migration weekend {URL}"),
    (
        "https://lenahartmann.github.io/css-notes/",
        "wrote up everything I learned about container queries, hosted on GitHub Pages {URL}",
    ),
    ("https://yuki-t.github.io/blog/", "moved my blog to GitHub Pages, goodbye monthly hosting bill {URL}"),
    ("https://theo-d.github.io/pixel-garden/", "my little browser game is live on github pages! {URL}"),
]
GH_LINK_ONLY_URLS = [
    "https://github.com/sharkdp/fd",
    "https://github.com/BurntSushi/ripgrep",
    "https://github.com/astral-sh/uv",
    "https://github.com/typst/typst",
    "https://github.com/neovim/neovim/releases/tag/v0.10.0",
    "https://github.com/bluesky-social/atproto/pull/2811",
    "https://github.com/junegunn/fzf",
    "https://github.com/immich-app/immich/releases",
    "https://github.com/helix-editor/helix/issues/1840",
    "https://github.com/charmbracelet/gum",
    "https://github.com/sveltejs/kit",
    "https://github.com/denoland/deno",
]

# ---------------------------------------------------------------- GitHub, discussed
GH_DISCUSS = [
    "is github down for anyone else? pushes hanging forever",
    "GitHub Actions queue times today are brutal, my 2 minute job has been waiting 25 minutes",
    "the new GitHub issues UI is fine I guess but where did the label filter go",
    "Copilot code review left 14 comments on my PR and 12 of them were about whitespace",
    "just set up a GitHub Actions matrix for 3 OSes and 4 Python versions and my CI bill is crying",
    "Dependabot opened 31 PRs overnight. I am one person.",
    "my contribution graph this year looks like a barcode",
    "the code is on GitHub if anyone wants to poke at it, link in the replies",
    "PSA: GitHub notifications settings let you mute a whole org. life changing",
    "does anyone actually use GitHub Discussions or do we all just open issues",
    "reviewing PRs on my phone in the GitHub app is a special kind of pain",
    "got my first ever GitHub Sponsors donation and I'm weirdly emotional about it",
    "GitHub's status page says all systems operational while nothing loads 🙃",
    "hot take: squash merging should be the default on every GitHub repo",
    "finally migrated our CI from Jenkins to GitHub Actions. 600 lines of groovy gone",
    "spent my morning fighting a flaky GitHub Actions cache. the cache key was wrong. it's always the cache key",
    "PSA if you maintain an open source repo: turn on private vulnerability reporting in the GitHub security tab",
    "the GitHub merge queue has made our main branch green for 3 weeks straight, a record",
    "Codespaces spun up in 40 seconds with everything preinstalled, ok I'm impressed",
    "someone starred all 40 of my GitHub repos at 3am, hello new friend or bot",
    "why does every GitHub README start with 14 badges",
    "pro tip: press . on any GitHub repo to open it in the web editor",
    "GitHub Pages build failed with no useful error, classic",
    "our org just turned on required reviews and branch protection on GitHub, welcome to process",
    "closed my 1000th issue on GitHub today. most of them were duplicates",
    "the 'good first issue' label on GitHub brought us five new contributors this month",
    "Copilot autocomplete suggested an API key format from some other repo and now I have questions",
    "GitHub Copilot Workspace turned my issue description into a plan and half a PR, weird times",
    "PR review etiquette: please don't force-push after I've started reviewing",
    "the repo is public on GitHub now! took us two years to clean it up enough",
    "self-hosted GitHub Actions runners on a raspberry pi, because why not",
    "github's new code search is honestly the best thing they've shipped in years",
    "Can we talk about how GitHub issue templates have made bug reports 10x better",
    "someone opened a PR on my side project fixing a typo and adding tests. the internet is good sometimes",
    "our GitHub Actions minutes ran out on the 20th. again.",
    "Trying to decide between GitHub Projects and Linear for a 4-person team. thoughts?",
    "Starred repos are my bookmarks at this point. 2,300 stars and I remember none of them",
    "GitHub outage took down our deploys for an hour, time to add a fallback",
    "the GitHub CLI `gh pr checkout` is one of those commands I use 20 times a day",
    "our release workflow builds wheels for every platform on GitHub Actions and uploads them automatically, I will never go back",
    "GitHub now shows who reviewed what in the PR timeline and it's so much clearer",
    "a bot opened a PR on our repo 'fixing' our license file. no.",
    "wish GitHub let you sort issues by reactions by default",
    "the GitHub mobile app's notification inbox is secretly great",
    "finally archived my old GitHub repos from college. rest in peace, todo-app-final-v3",
    "how do you all handle stale PRs on GitHub? close after 90 days?",
    "I love a CONTRIBUTING.md that tells me exactly how to run the tests",
    "published my first package with trusted publishing from GitHub Actions, no more API tokens lying around",
    "GitHub Copilot is now free for open source maintainers? checking my eligibility",
    "the GitHub security advisory for that npm package just dropped, patch your lockfiles",
    "every repo on GitHub should have a screenshot in the README, fight me",
    "our monorepo on GitHub hit the point where the web UI times out on blame",
    "protip: add a CODEOWNERS file so GitHub auto-requests the right reviewers",
    "forked the repo, fixed the bug, opened a PR, got a review within an hour. open source on a good day",
    "gh release create with auto-generated notes saved me so much time",
    "the new GitHub Actions arm64 runners cut our build time in half",
    "every time GitHub goes down half my timeline becomes 'guess I'll touch grass'",
    "I maintain a GitHub repo with 8 stars and somehow it has 40 open issues",
    "someone copied my GitHub repo, removed the license and re-uploaded it as theirs",
    "GitHub's dependency graph just flagged a vulnerable transitive dependency we'd never heard of",
]
GH_REPLIES = [
    "here's the repo {URL}",
    "source is here if you want to self-host {URL}",
    "yes! it's on GitHub, MIT licensed: {URL}",
    "I opened an issue for this last week {URL}",
    "the fix landed in main yesterday, see {URL}",
    "there's a PR for that already: {URL}",
]

# ---------------------------------------------------------------- ML
ML_DISCUSS = [
    "fine-tuned a 7B model with LoRA on 2k support tickets and it finally stopped hallucinating our refund policy",
    "our eval set had duplicates of the training data and the accuracy numbers were pure fiction. dedupe your splits, folks",
    "the KV cache is eating all my GPU memory at 32k context, anyone tried paged attention?",
    "reminder that perplexity is not a measure of usefulness",
    "quantized the model to 4-bit GGUF and it runs on my laptop at 20 tokens/s",
    "RAG tip: chunk by section headings, not fixed token counts. recall went up a lot for us",
    "spent all day debugging why my loss went NaN. it was the learning rate warmup. it's always the warmup",
    "the new open-weights model tops the leaderboard but fails my three-question vibe check",
    "embedding models are so underrated. a 22M param sentence encoder solved 80% of our search problem",
    "we cut inference cost 60% with speculative decoding and a tiny draft model",
    "every LLM benchmark becomes contaminated within six months of release",
    "Reviewer 2 asked for ablations on a dataset that doesn't exist yet #NeurIPS",
    "ICLR rebuttal season. may your reviewers read the appendix",
    "hot take: most teams don't need to fine-tune, they need better retrieval and better prompts",
    "we moved our model serving to vLLM and throughput doubled on the same GPUs",
    "training run crashed at step 48k with no checkpoint since step 30k. lesson learned",
    "the tokenizer splits my language into 3x as many tokens as English and that's a fairness problem nobody budgets for",
    "our MLOps setup is a cron job, a bucket and prayers",
    "model drift hit us hard after the holidays, the click-through model was trained on summer traffic",
    "anyone have a good recipe for calibrating classifier probabilities? platt scaling vs isotonic",
    "the EU AI Act obligations for general-purpose model providers kick in soon and our compliance team has questions about training data summaries",
    "writing model cards is boring but it saved us when legal asked what data the model saw",
    "the gradient norm spikes right before the loss diverges, every time",
    "new preprint! we show that small language models can learn arithmetic with the right curriculum",
    "reading group this week: the attention is all you need paper, again, for the new students",
    "data quality > model size, a thread on what we learned filtering 2TB of web text 🧵",
    "finally understood why layer norm placement matters for training stability",
    "the hardest part of ML in production is not the model, it's the labels",
    "transformer inference on CPU is way more viable than people think with int8",
    "tried DPO instead of PPO for our chat model and the training was so much less painful",
    "running an LLM-as-judge eval? check its agreement with humans first, ours was 62%",
    "annotation guidelines are the real model spec",
    "our recommender's offline AUC went up and online engagement went down. classic",
    "we open-sourced the dataset: 40k annotated medical images with segmentation masks",
    "GPU shortage update: our training job is scheduled for next Tuesday at 3am",
    "a thread on evaluating retrieval: recall@k, MRR, and why nDCG is worth the trouble",
    "the new multimodal models can read charts but still can't count the bars",
    "mixed precision training with bf16 just works on newer GPUs, no more loss scaling hacks",
    "small models distilled from big ones are the most practical thing happening in AI right now",
    "our sentiment classifier thinks 'sick' is always negative. teenagers disagree",
    "I'm giving a talk on practical LLM evaluation at PyData next month",
    "how are people handling prompt injection in agent tools that browse the web",
    "PSA: set your random seeds and log your data versions, future you will thank you",
    "the paper's reported numbers only reproduce with their exact tokenizer version. reproducibility in ML 🙃",
    "an honest job post: 'ML engineer, 80% data cleaning, 20% meetings about data cleaning'",
    "chain-of-thought makes the model more accurate and 5x more expensive, pick your poison",
    "the reward model learned to prefer longer answers, so now every answer is an essay",
    "we replaced a 500-rule regex system with a fine-tuned BERT and precision went up 20 points",
    "vector databases are just approximate nearest neighbor search with a marketing budget",
    "mechanistic interpretability paper of the week: a single neuron that tracks whether text is in a code block",
    "scaling laws say we're data-bound, so naturally everyone is generating synthetic data",
    "our speech recognition model still struggles with accented English, collecting more diverse data",
    "GPT-style models memorize rare strings in the training set, which is a privacy problem",
    "training a small vision transformer from scratch on CIFAR-10 as a learning exercise, 92% so far",
    "anyone else find that cosine learning rate schedules are weirdly robust",
    "the open-source model ecosystem moves so fast that my blog post from March is obsolete",
    "AI policy folks: the compute threshold in the new regulation is going to age badly",
    "we benchmarked five embedding models on our own queries and the leaderboard winner came fourth",
    "teaching an intro to machine learning course this semester, starting with linear regression and no libraries",
    "model serving latency p99 went from 800ms to 120ms after batching requests",
    "the dataset card says 'web crawl' and nothing else. that's not documentation",
    "federated learning sounds great until you try to debug it",
    "got my first paper accepted at ACL!! on multilingual named entity recognition",
    "zero-shot classification with an LLM got 85%, a logistic regression on embeddings got 91% at 1/1000 the cost",
    "our anomaly detection model flags every Monday morning as an incident",
    "the LLM wrote the SQL query confidently and completely wrong",
    "why is nobody talking about how good the new small reasoning models are at math olympiad problems",
    "mixture of experts routing collapse is real, add the load-balancing loss",
    "been reading about sparse autoencoders for interpretability all weekend",
    "just finished Andrew Ng's course and trained my first neural network from scratch, feels like magic",
    "AI safety evals for dangerous capabilities are hard to design without teaching the model the thing",
    "the hugging face hub download counter for our model just passed a million",
    "diffusion models for protein structure are wild, the generated backbones actually fold",
    "the agent loop worked perfectly in the demo and spent $40 of API credits in production overnight",
    "retrieval with hybrid BM25 + dense embeddings beats either alone on our data",
    "time series forecasting with gradient boosting still beats the fancy deep models on our sales data",
    "our ML platform team just shipped a feature store and nobody knows how to use it",
    "the model card claims 'no known biases' which tells you they didn't look",
    "LLM inference pricing dropped another 50% this quarter, the economics keep shifting",
    "overfitting is when your model memorizes the homework and fails the exam",
]
ML_TEMPLATES = [
    "anyone tried {thing} with {model}? curious how it holds up on long documents",
    "we swapped {model} in for our old model and our eval scores went up 4 points",
    "quick thread on {thing}: what worked, what didn't, and what I'd do differently 🧵",
    "is {thing} actually worth it at small scale or is it a big-lab trick",
    "ran {model} locally on a 24GB GPU, inference is fast enough for our use case",
    "my notes from implementing {thing} from the paper, the details they leave out matter",
    "{model} vs {model2} on our internal benchmark: basically tied, but one is half the price",
    "teaching the team {thing} this week with a toy model on a laptop",
    "if your {thing} experiments aren't reproducible, log the seed, the data version and the config",
    "finally got {thing} working for our classifier, training is stable now",
]
ML_PAPER_TEXT = [
    "new paper from our lab! {title}. short thread below 👇 {URL}",
    "this paper is going to change how I think about {topic} {URL}",
    "preprint is up: {title} {URL}",
    "interesting result: {abstract_l} {URL}",
    "reading this on the train this morning {URL}",
    "worth your time if you work on {topic}: {URL}",
]
ML_PAPER_CARD_ONLY = [
    "reading this tonight",
    "huh, didn't expect that result",
    "our paper is finally out!!",
    "great read",
    "putting this on the reading group list",
    "the figures in this one 😍",
    "this is the paper everyone is arguing about today",
]
ML_HF = [
    "just pushed our fine-tuned checkpoint to the hub {URL}",
    "the weights are open and the license is actually permissive {URL}",
    "this dataset is a gift for anyone training small models {URL}",
    "tried this model on my laptop, surprisingly good at code {URL}",
    "leaderboard updated and the rankings shuffled again {URL}",
    "downloaded this last night and it's already my default embedding model {URL}",
]

# ---------------------------------------------------------------- both
BOTH_DISCUSS = [
    "code for our paper is on GitHub, including the training scripts and eval harness",
    "GitHub Copilot now lets you pick the underlying model, tried Claude and GPT-4o side by side for a week",
    "opened an issue on vLLM about KV cache eviction under high concurrency, turns out it's a known bug",
    "the llama.cpp repo gets like 50 PRs a day, how do the maintainers keep up",
    "we released our fine-tuning toolkit on GitHub, it trains a 7B model with LoRA on a single 24GB card",
    "the GitHub Actions workflow now runs our model evals on every PR and posts the scores as a comment",
    "sent my first PR to huggingface transformers, fixing a tokenizer bug for Japanese",
    "the reproduction repo for that paper on GitHub has 2k stars and the training loss curve doesn't match the paper",
    "GitHub Models lets you try LLMs right from the marketplace, handy for quick prototyping",
    "our ML team moved all notebooks to a GitHub repo with CI that retrains the model nightly",
    "the nanoGPT repo is still the best way to learn how transformers train",
    "open-sourced our embedding benchmark on GitHub: 12 tasks, 30 models, all scripts included",
    "Copilot's new agent mode opened a PR that trained and evaluated a classifier end to end. I have mixed feelings",
    "pushed the dataset loader and the baseline model to GitHub, PRs with better baselines welcome",
    "the Whisper repo issues are full of people asking about hallucinated subtitles in silent audio",
    "a GitHub Action that fails the build if the model's accuracy drops more than 1 point. simple, effective",
    "starred every LLM inference repo on GitHub this month, time to actually benchmark them",
    "the official implementation on GitHub uses a different learning rate than the paper says",
    "if your ML paper says 'code available' please actually put it on GitHub before the conference",
    "spent the day reading the PyTorch source on GitHub to understand how autograd handles in-place ops",
    "our Copilot usage data: the model writes 30% of our code and 60% of our tests",
    "the scikit-learn maintainers merged my PR adding a calibration example 🎉",
    "GitHub trending today is 8 out of 10 AI agent frameworks",
    "we keep our model weights on the Hugging Face hub and the training code on GitHub, works well",
]
BOTH_REPO_TEMPLATES = [
    "{proj} {ver} is out with faster inference and better quantization support {URL}",
    "if you want to run LLMs locally, start with {proj}: {desc_l} {URL}",
    "our team contributed a new sampler to {proj}, merged today {URL}",
    "great repo for learning: {desc_l} {URL}",
    "benchmarked {proj} against two alternatives for serving our model, it wins on throughput {URL}",
    "filed a bug on {proj} about memory usage during fine-tuning {URL}",
    "the {proj} repo just hit 50k stars, wild growth for an ML tool {URL}",
]
BOTH_PAPER_CODE = [
    "new paper + code! {title}. repo here: {URL}",
    "the code and checkpoints for our paper are on GitHub {URL}",
    "we released the training code for {title} {URL}",
]

# ---------------------------------------------------------------- neither: chatter
CHATTER = [
    "the cat has decided my keyboard is a bed and honestly who am I to argue",
    "made sourdough for the first time and it's flat but delicious",
    "anyone else's spring allergies starting already or just me",
    "three episodes into the new season and I have so many theories",
    "finally finished the puzzle. 1000 pieces, 3 weeks, one missing piece. unbelievable",
    "rainy sunday, soup on the stove, book in hand. perfect",
    "our team lost in overtime and I need to lie down",
    "the new coffee place downtown is 7 dollars for a latte and it's so good I'm mad",
    "just booked flights for the summer!! first trip abroad since 2019",
    "my tomato plants are finally flowering 🍅",
    "hot take: pineapple on pizza is fine and we should all move on",
    "Reminder to drink water and text your friends back",
    "the bus was 40 minutes late and then two came at once. transit moment",
    "went to my first pottery class and made a bowl that is mostly a plate",
    "reading recommendations for a long flight? I like slow sci-fi",
    "why does every grocery store rearrange the aisles the week I finally learned them",
    "my dog heard the word 'walk' in a podcast and now there's no going back",
    "concert last night was unreal, my ears are still ringing",
    "day 3 of trying to fix the squeaky door. the door is winning",
    "I can't believe it's already November, where did the year go",
    "the sunset tonight looked like a painting 🌅",
    "thinking about starting a book club at work, would anyone actually come",
    "just watched the election debate and I need a nap",
    "new running shoes feel like walking on clouds",
    "homemade dumplings for the family gathering, 200 folded, 0 regrets",
    "my kid asked why the sky is blue and I gave a whole lecture, she was asleep by the end",
    "accidentally wore two different shoes to work and nobody noticed until 3pm",
    "the library near me started lending out tools and it's the best thing ever",
    "sunday reset: laundry, meal prep, and ignoring my inbox",
    "we adopted a second cat and the first cat is filing a formal complaint",
    "hiking trail was closed for bears, which is fair",
    "learning to knit and my scarf is currently a triangle",
    "anyone have tips for sleeping on overnight trains",
    "favorite comfort movie? mine is still the princess bride",
    "our neighborhood has a new mural and it's gorgeous",
    "the ferry ride this morning was so foggy it felt like a movie",
    "baked cookies for the office and they were gone in 9 minutes",
    "I will not be taking questions about my houseplant situation at this time",
    "got caught in the rain without an umbrella, again, in november",
    "the playoffs start tomorrow and I've already cleared my schedule",
    "mom's lasagna recipe finally written down so it survives the next generation",
    "new journal, new pens, same handwriting",
    "anyone else going to the farmers market saturday? the peaches are back",
    "listening to the new album on repeat, track 4 is perfect",
    "the gym at 6am is a different world. quiet, judgmental, great",
    "my apartment's radiator sounds like a drum solo",
    "sending good vibes to everyone with exams this week",
    "this weather is ridiculous, snow in april",
    "found a vintage jacket at the thrift store for 8 dollars",
    "movie night with friends, we argued about the ending for an hour",
    "public libraries are the best thing humans ever invented and I will die on this hill",
    "just got my hair cut way too short and I'm choosing to call it bold",
    "our band has a gig friday at the corner bar, come say hi",
    "the baby finally slept through the night and I don't know what to do with myself",
    "tried a new ramen place, the broth is 10/10",
    "moving apartments next week, if you hear screaming it's me and the couch",
    "happy birthday to my best friend, 20 years of nonsense together",
    "watching the birds at the feeder is my new favorite hobby",
    "the office coffee machine broke and morale is at an all-time low",
    "does anyone know a good plumber in the east side",
    "my grandmother just learned to send voice messages and now I get 12 a day",
    "cycling to work in the cold builds character apparently",
    "ok the finale actually made me cry, no spoilers",
    "reminder: your local bookstore can order anything for you",
    "I'm on a boat. no seriously, ferry to the islands for the weekend",
    "tea > coffee, I said what I said",
    "spent the afternoon at the museum and the dinosaur hall is still the best part",
    "spring cleaning found four phone chargers and zero matching socks",
    "the city council meeting about bike lanes went exactly how you'd expect",
    "nothing humbles you like a toddler beating you at memory",
    "we got engaged!!! 💍",
    "my weekend plans: nothing, aggressively",
    "Our local team won the championship, the whole city is honking",
    "can't stop thinking about that pasta I had in Rome",
    "renewed my passport and the photo is a crime",
    "thrilled to announce I've joined a new team as a product designer!",
    "cleaned out the garage and found my old skateboard, my knees said no",
    "anyone watching the eclipse tomorrow? got my glasses ready",
    "the wifi at my parents' house is a suggestion, not a service",
]
TECH_NOT_GH = [
    "finally understood rust lifetimes after drawing them on paper",
    "CSS grid is so good, why did I wait so long to learn it",
    "postgres autovacuum tuning is a dark art",
    "my laptop battery lasts 3 hours now, time for a new one",
    "new phone setup takes longer than the actual phone upgrade",
    "TypeScript's type errors are novels. beautiful, confusing novels",
    "kubernetes yaml indentation got me again",
    "the new iOS update moved the flashlight button and my muscle memory is in shambles",
    "SQL window functions changed my life, not exaggerating",
    "my mechanical keyboard arrived and my coworkers hate me",
    "upgraded to a 4k monitor, now I see every pixel of my bad code",
    "DNS. it's always DNS.",
    "regex is a write-only language",
    "reminder to back up your files. external drive died today, lost nothing thanks to backups",
    "spent the morning writing unit tests and honestly it was relaxing",
    "vim or emacs? I use nano and I'm not ashamed",
    "published a new version of my crate on crates.io with better error messages",
    "Excel crashed and took 2 hours of work with it",
    "the company VPN disconnects every 20 minutes like clockwork",
    "built a little home server from an old laptop, it runs my media library",
    "learning Go this month, the error handling is growing on me",
    "our sprint retro was mostly about meetings about sprints",
    "tabs vs spaces debate at lunch got heated",
    "my password manager saved me again today",
    "WordPress site got hacked because of an old plugin, update your plugins",
    "pair programming with a junior dev today and learned more than I taught",
    "the printer at work is possessed, it only prints in landscape",
    "migrated the team wiki from Confluence to Notion, everyone is confused",
    "my raspberry pi weather station finally works",
    "code review tip: ask questions instead of giving orders",
    "SQLite is the most deployed database in the world and it's a single file, love it",
    "Apple's new laptop chips are absurdly fast at compiling",
    "linux on the desktop: year of, allegedly",
    "bought a domain at 2am for a project I will never build",
    "the accessibility audit found 40 issues on our site, fixing them this sprint",
    "writing a compiler for a toy language in OCaml for fun",
]
CODE_HOST_TRAPS = [
    (
        "https://gitlab.com/inkscape/inkscape",
        "inkscape / inkscape · GitLab",
        "Inkscape vector image editor",
        "Inkscape's source lives here if you want to help fix the pen tool {URL}",
    ),
    (
        "https://codeberg.org/forgejo/forgejo",
        "forgejo",
        "Beyond coding. We forge. - Codeberg.org",
        "self-hosting my own forge with forgejo, it's lovely {URL}",
    ),
    (
        "https://gitlab.gnome.org/GNOME/gtk",
        "GNOME / gtk · GitLab",
        "the GTK toolkit",
        "the GTK bug tracker is where dreams go to wait {URL}",
    ),
    (
        "https://codeberg.org/dnkl/foot",
        "foot",
        "A fast, lightweight and minimalistic Wayland terminal emulator - Codeberg.org",
        "foot is my terminal of choice now {URL}",
    ),
    (
        "https://sr.ht/~sircmpwn/aerc/",
        "aerc: an email client",
        "aerc is an email client for your terminal - sourcehut",
        "reading email in the terminal like it's 1995, with aerc {URL}",
    ),
    (
        "https://gitlab.com/fdroid/fdroidclient",
        "F-Droid / Client · GitLab",
        "F-Droid Android client app",
        "F-Droid client code for the curious {URL}",
    ),
    (
        "https://codeberg.org/Freeyourgadget/Gadgetbridge",
        "Gadgetbridge",
        "Use your smartwatch without the vendor's cloud - Codeberg.org",
        "Gadgetbridge lets me use my watch without an account, love it {URL}",
    ),
    (
        "https://gitlab.com/gitlab-org/gitlab",
        "GitLab.org / GitLab · GitLab",
        "GitLab is an open source end-to-end software development platform",
        "our company self-hosts this, merge requests all day {URL}",
    ),
    (
        "https://codeberg.org/ziglings/exercises",
        "exercises",
        "Learn the Zig programming language by fixing tiny broken programs - Codeberg.org",
        "working through these zig exercises on the weekend {URL}",
    ),
    (
        "https://bitbucket.org/atlassian/python-bitbucket",
        "atlassian / python-bitbucket — Bitbucket",
        "Python client for the Bitbucket API",
        "yes some of us still use bitbucket at work {URL}",
    ),
]
NEWS_CARDS = [
    (
        "https://www.theguardian.com/environment/2026/nov/02/heatwave-records",
        "Heatwave breaks records across southern Europe",
        "Temperatures reached 44C in parts of Spain as authorities issued red alerts.",
        "this summer was brutal {URL}",
    ),
    (
        "https://www.bbc.com/sport/football/articles/c3g8",
        "Late winner sends hosts through to the final",
        "A stoppage-time header settled a tense semi-final.",
        "what a match {URL}",
    ),
    (
        "https://www.nytimes.com/2026/10/31/dining/pumpkin-soup.html",
        "The Only Pumpkin Soup Recipe You Need",
        "Roasting the squash first makes all the difference.",
        "making this tonight {URL}",
    ),
    (
        "https://www.youtube.com/watch?v=a8Hd2kQ",
        "Restoring a 1970s Rusty Bike",
        "Full restoration of a vintage road bike, start to finish.",
        "I could watch these restoration videos all day {URL}",
    ),
    (
        "https://apnews.com/article/city-transit-strike",
        "City transit workers reach tentative deal, ending strike",
        "Buses and trains will resume service Monday.",
        "finally, the buses are back {URL}",
    ),
    (
        "https://www.npr.org/2026/11/03/birds-migration",
        "Why birds are migrating later every year",
        "Scientists say warmer autumns are shifting migration schedules.",
        "fascinating {URL}",
    ),
]

# ---------------------------------------------------------------- the word traps (neither)
TRAPS = {
    "llmlaw": [
        "just submitted my LLM thesis on international arbitration, time to sleep for a week",
        "thinking about doing an LLM in tax law after a few years of practice, worth it?",
        "the LLM program at Georgetown admitted me!! moving to DC in August",
        "LLM students: how are you balancing the bar prep with coursework",
        "my LLM in human rights law taught me more than my whole JD",
        "Got my LLM results today, passed with distinction in maritime law",
        "anyone did a one-year LLM in the UK as a foreign-trained lawyer? the visa question",
        "LLM graduation ceremony today, in the robes, in this heat",
        "the LLM curriculum has way too much contract theory and not enough practice",
        "applying for LLM programs in Europe, comparative constitutional law",
        "my cousin is doing her LL.M. at Leiden and sends me pictures of canals daily",
        "an LLM from a good school does open doors at international firms, I'm told",
        "LLM dissertation word count is 15,000 and I have 900",
        "law school friends, is a specialised LLM in IP worth the debt?",
        "met my LLM cohort today, 30 lawyers from 22 countries",
    ],
    "fashion": [
        "the models at Paris Fashion Week walked in the rain and still looked flawless",
        "casting call for runway models this weekend, no experience needed",
        "supermodels of the 90s documentary is so good",
        "she started as a catalog model and now she's on every billboard",
        "the new campaign uses real customers instead of professional models and it looks great",
        "model agency scams are everywhere, never pay upfront fees",
        "the spring collection looked amazing on the models, that green coat!!",
        "my sister got signed by a modeling agency in Milan",
        "plus-size models stole the show at fashion week",
        "behind the scenes at a photoshoot: 40 outfits, 3 models, 1 exhausted photographer",
        "the hand model industry is fascinating, they insure their hands",
        "this year's Met Gala red carpet was mostly models and influencers",
        "runway model strutting in 8 inch heels on cobblestones, legend",
        "fitness model tips are mostly 'have good lighting and genetics'",
    ],
    "toys": [
        "found a G1 Optimus Prime at the flea market for 5 dollars, the Transformers collector in me is screaming",
        "Transformers One was actually a great movie, Bumblebee stole every scene",
        "my son's birthday wish: every Transformers toy ever made",
        "transforming this Megatron figure requires an engineering degree",
        "the new Masterpiece Transformers line is so expensive but so pretty",
        "Beast Wars was the best Transformers series, no debate",
        "Autobots roll out! rewatching the 1986 animated movie",
        "my Transformers shelf is full, time for a second shelf",
        "Transformers cartoon marathon with the kids this weekend",
        "still mad that I sold my Starscream figure in 1998",
        "the Bumblebee movie is underrated, that VW beetle deserves better",
        "hasbro announced new Transformers figures and my wallet is hiding",
    ],
    "snake": [
        "our ball python shed in one piece today, proud snake parent moment",
        "Burmese pythons are taking over the Everglades and it's a real problem",
        "the reptile expo had a reticulated python longer than my car",
        "feeding day for the python, she's very picky about frozen mice",
        "python enclosure humidity tips? she keeps having bad sheds",
        "saw a wild carpet python on the trail today in queensland!",
        "Florida's python challenge hunters caught 200 snakes this year",
        "my daughter wants a pet python for her birthday and I'm not ready",
        "the zoo's new python exhibit has a glass floor, terrifying",
        "fun fact: pythons aren't venomous, they squeeze",
        "our python escaped and we found him in the couch 3 days later",
        "the green tree python's colors are unreal",
    ],
    "gitslang": [
        "git outta here with that nonsense",
        "gonna git me some tacos after work",
        "git gud, said the game, and I did not git gud",
        "you silly old git, you left the keys in the door again",
        "my grandad called the neighbour a miserable old git and I'm crying",
        "y'all better git to the fair before the funnel cakes run out",
        "git along little dogies, it's a long ride to town",
        "that lazy git hasn't paid me back yet",
        "git your boots on, we're going to the creek",
        "just git it done, stop overthinking it",
        "git off my lawn energy today",
        "the pub landlord is a grumpy old git but he pours a good pint",
    ],
    "cockpit": [
        "the copilot greeted everyone at the door and the landing was butter smooth",
        "my dad was an airline copilot for 30 years, today is his last flight",
        "the co-pilot announced we're 20 minutes early, best flight ever",
        "first officer training: 250 hours in the right seat as copilot before upgrading",
        "rally co-pilot reading pace notes at 180km/h is a job I'll never understand",
        "the copilot spotted the bird strike before the captain did",
        "pilot and copilot both got food poisoning, we had to divert. airline chaos",
        "my co-pilot on this road trip is a golden retriever with strong opinions",
        "captain and copilot swapped seats for the landing, smooth as glass",
        "wanted to be an airline copilot as a kid, now I fly a desk",
        "the copilot's voice over the PA was so calming during the turbulence",
        "flight simulator night: I was the copilot and we crashed into a mountain",
    ],
    "neural": [
        "folic acid before and during pregnancy lowers the risk of neural tube defects",
        "our 20 week scan checked for neural tube defects and everything looks good",
        "spina bifida is a neural tube defect, and awareness month is this month",
        "learning about the neural crest in embryology class, cells migrate everywhere",
        "neural pathways are shaped by habit, which is why routines matter",
        "the neurologist said the tingling is probably a pinched nerve",
        "neuroplasticity means you can learn new skills at any age",
        "my biology exam covers synapses, action potentials and neurotransmitters",
        "prenatal vitamins with folate, the doctor was very insistent",
        "anatomy lab today: the brachial plexus is a nightmare to memorize",
        "neural tube closure happens by week 4, before most people know they're pregnant",
    ],
    "modeltrains": [
        "finished the HO scale model train layout in the basement, 3 years of work",
        "the model railway exhibition this weekend had a perfect replica of the old station",
        "my dad's model trains are coming out for the holidays again 🚂",
        "N gauge or HO for a small apartment layout?",
        "soldering the track for my model railroad, the tiny scale is killing my eyes",
        "model train club meets every thursday, average age 70, best people",
        "building a tiny model of our town's train station, 1:87 scale",
        "the christmas model train around the tree is non-negotiable in our house",
        "painted miniature trees for the layout all weekend",
        "bought a vintage Märklin locomotive on ebay and it runs!",
        "model trains and a cup of tea, my retirement plan",
    ],
    "italian": [
        "day 200 of learning Italian on Duolingo, still can't order coffee without panic",
        "learning Italian before our trip to Rome, the subjunctive is rough",
        "machine translation is fine but learning Italian properly feels better",
        "my Italian teacher says my accent is 'very creative'",
        "learning to play the cello at 40, my neighbors are being patient",
        "learning Italian through opera arias, my pronunciation is dramatic now",
        "language exchange tonight: I help with English, she helps with Italian",
        "learning to drive stick this week, the car has stalled 30 times",
        "my kids are learning Italian at school and correcting me at dinner",
        "the best way to learn Italian is to move in with an Italian grandmother",
        "learning a new language in your 30s is humbling",
        "learning to swim as an adult, week 3, I can float!",
    ],
    "gradient": [
        "painted a sunset with a soft gradient from orange to purple, happy with it",
        "gradient hair is back, I went pink to blue",
        "how do you blend a smooth gradient in watercolor without blotches",
        "the gradient on this sky in the new landscape piece took me 6 hours",
        "ombre nails with a glitter gradient for the holidays 💅",
        "made a gradient scarf with hand-dyed yarn",
        "procreate tip: use the gradient map to recolor the whole drawing",
        "the hill has a steep gradient, my bike and I disagreed about it",
        "the color gradient on this sunset photo is unedited, I swear",
        "new print in the shop: a risograph with a two-color gradient",
        "the road gradient on the last climb of the race was 18%",
    ],
    "aitokens": [
        "$FET and other AI tokens are pumping today, this is the AI coin season 🚀",
        "top 5 AI crypto tokens to buy before the bull run",
        "this AI agent token on Solana did a 40x, not financial advice",
        "AI memecoins are the new dog coins, change my mind",
        "just aped into an AI token my cousin recommended, down 60%",
        "the AI coin narrative is strong this cycle, loading my bags",
        "new AI token presale, whitelist spots going fast 👇",
        "AI crypto projects are 90% marketing and 10% a website",
        "staking rewards on this AI token are 200% APY, surely nothing can go wrong",
        "airdrop alert: AI agent token for early holders",
        "the AI token sector is up 30% this week while bitcoin chops",
    ],
    "misc": [
        "the transformer on our street blew up during the storm, no power since last night",
        "training for my first marathon, week 10, long run was 28km",
        "fine-tuning my guitar before the gig, the humidity is wrecking the strings",
        "my attention span after scrolling all day is about 4 seconds",
        "the stars were incredible at the campsite, saw the milky way",
        "picked up a fork at the restaurant and it was bent. small tragedies",
        "the institutional repository at my university finally digitized the old theses",
        "big weights day at the gym, deadlift PR",
        "the new vacuum has a 'smart' mode that just means it's louder",
        "my uncle keeps forwarding me those AI-generated pictures of shrimp Jesus",
        "the hospital's new bed allocation model reduced wait times, says the report",
        "the agent called about the house, we got the offer in!",
        "an actions speak louder than words kind of day",
        "deep learning about myself in therapy this year",
        "our support vector for the campaign is volunteers knocking on doors",
        "my regression to the mean: started the diet strong, ended with pizza",
    ],
}
CHAT_REPLIES = [
    "haha exactly",
    "this is so true",
    "thank you!! 💙",
    "omg same",
    "congrats!!",
    "lol no",
    "I needed to hear this today",
    "wait what happened",
    "sending hugs",
    "agreed, 100%",
    "that's wild",
    "where is this?",
    "miss you too!",
    "ok this made me laugh out loud",
]


def _fill_repo(rng: random.Random, pool, with_card_prob: float = 0.5):
    def fill(template: str) -> dict:
        repo, desc, _ = rng.choice(pool)
        proj = repo.split("/")[1]
        text = template.format(
            proj=proj, repo=repo, desc_l=desc[0].lower() + desc[1:], ver=rng.choice(VERSIONS), URL="{URL}"
        )
        url = f"https://github.com/{repo}"
        spec: dict = {"text": text, "urls": [url]}
        if rng.random() < with_card_prob:
            spec["card"] = repo_card(repo, desc)
        return spec

    return fill


def _fill_ml(rng: random.Random):
    def fill(template: str) -> dict:
        model, model2 = rng.sample(ML_MODELS, 2)
        return {"text": template.format(model=model, model2=model2, thing=rng.choice(ML_THINGS))}

    return fill


def _fill_paper(rng: random.Random, code: bool = False):
    topics = ["language model training", "evaluation", "retrieval", "interpretability", "efficient inference"]

    def fill(template: str) -> dict:
        arxiv_id, title, abstract = rng.choice(ARXIV)
        text = template.format(
            title=title, abstract_l=abstract[0].lower() + abstract[1:], topic=rng.choice(topics), URL="{URL}"
        )
        if code:
            repo = f"{rng.choice(['lin-lab', 'nlp-uw', 'kaito-ml', 'vision-group', 'ai2-research'])}/{title.split()[0].lower()}-{arxiv_id[-4:]}"
            desc = f"Official implementation of '{title}'"
            return {"text": text, "urls": [f"https://github.com/{repo}"], "card": repo_card(repo, desc)}
        url = f"https://arxiv.org/abs/{arxiv_id}"
        return {"text": text, "urls": [url], "card": (url, f"[{arxiv_id}] {title}", abstract)}

    return fill


def _card_only(rng: random.Random, kind: str):
    def fill(template: str) -> dict:
        if kind == "gh":
            choice = rng.random()
            repo, desc, _ = rng.choice(GH_REPOS)
            if choice < 0.6:
                card = repo_card(repo, desc)
            elif choice < 0.8:
                card = release_card(repo, rng.choice(VERSIONS))
            else:
                title, _ = rng.choice(GH_ISSUES)
                card = issue_card(repo, title, rng.randint(100, 9000))
        elif kind == "ml":
            arxiv_id, title, abstract = rng.choice(ARXIV)
            card = (f"https://arxiv.org/abs/{arxiv_id}", f"[{arxiv_id}] {title}", abstract)
        else:
            repo, desc, _ = rng.choice(ML_REPOS)
            card = repo_card(repo, desc)
        return {"text": template, "card": card}

    return fill


def generators(rng: random.Random) -> Iterator[Gen]:
    # GitHub
    yield from templated("gh-link", GH, GH_LINK_TEMPLATES, _fill_repo(rng, GH_REPOS), times=5)
    yield from templated("gh-card", GH, GH_CARD_ONLY, _card_only(rng, "gh"), times=4)
    for index, (title, text) in enumerate(GH_ISSUES):
        repo = rng.choice(GH_REPOS)[0]
        number = rng.randint(100, 9999)
        card = issue_card(repo, title, number)
        yield f"gh-issue{index}", GH, "en", (lambda t=text, c=card: [{"text": t, "urls": [c[0]], "card": c}])
    for index, (title, text) in enumerate(GH_PRS):
        repo = rng.choice(GH_REPOS)[0]
        card = pr_card(repo, title, rng.randint(100, 9999), rng.choice(["mira-k", "devon", "ttakeshi"]))
        yield (
            f"gh-pr{index}",
            GH,
            "en",
            (lambda t=text, c=card: [{"text": t, "urls": [c[0]]}, {"text": t, "urls": [c[0]], "card": c}]),
        )
    for index, (url, text) in enumerate(GH_GIST_IO):
        yield f"gh-gist{index}", GH, "en", (lambda t=text, u=url: [{"text": t, "urls": [u]}])
    yield "gh-linkonly", GH, "en", lambda: [{"text": "{URL}", "urls": [u]} for u in GH_LINK_ONLY_URLS]
    yield (
        "gh-linkonly-emoji",
        GH,
        "en",
        lambda: [
            {"text": f"{e} {{URL}}", "urls": [u]}
            for e, u in zip(["🔥", "👀", "⭐", "✨", "this:", "nice"], GH_LINK_ONLY_URLS[::2], strict=True)
        ],
    )
    yield from literal("gh-talk", GH, GH_DISCUSS)
    yield from templated(
        "gh-reply", GH, GH_REPLIES, lambda t: {**_fill_repo(rng, GH_REPOS, 0.3)(t), "reply": True}, times=2
    )

    # ML
    yield from literal("ml-talk", ML, ML_DISCUSS)
    yield from templated("ml-tpl", ML, ML_TEMPLATES, _fill_ml(rng), times=4)
    yield from templated("ml-paper", ML, ML_PAPER_TEXT, _fill_paper(rng), times=5)
    yield from templated("ml-card", ML, ML_PAPER_CARD_ONLY, _card_only(rng, "ml"), times=4)

    def hf_fill(template: str) -> dict:
        card = hf_card(rng.choice(HF)[0])
        return {"text": template.format(URL="{URL}"), "urls": [card[0]], "card": card}

    yield from templated("ml-hf", ML, ML_HF, hf_fill, times=2)
    yield (
        "ml-linkonly",
        ML,
        "en",
        lambda: [
            {"text": "", "card": (f"https://arxiv.org/abs/{a}", f"[{a}] {t}", d)} for a, t, d in ARXIV[:8]
        ],
    )

    # both
    yield from literal("both-talk", BOTH, BOTH_DISCUSS)
    yield from templated("both-repo", BOTH, BOTH_REPO_TEMPLATES, _fill_repo(rng, ML_REPOS), times=5)
    yield from templated("both-paper", BOTH, BOTH_PAPER_CODE, _fill_paper(rng, code=True), times=4)
    yield from templated("both-card", BOTH, GH_CARD_ONLY[:6], _card_only(rng, "both"), times=2)

    # neither
    yield from literal("chat", NONE, CHATTER)
    yield from literal("tech", NONE, TECH_NOT_GH)
    for index, (url, title, desc, text) in enumerate(CODE_HOST_TRAPS):
        yield (
            f"codehost{index}",
            NONE,
            "en",
            (lambda u=url, ti=title, d=desc, t=text: [{"text": t, "urls": [u], "card": (u, ti, d)}]),
        )
    for index, (url, title, desc, text) in enumerate(NEWS_CARDS):
        yield (
            f"news{index}",
            NONE,
            "en",
            (
                lambda u=url, ti=title, d=desc, t=text: [
                    {"text": t, "urls": [u], "card": (u, ti, d)},
                    {"text": "", "card": (u, ti, d)},
                ]
            ),
        )
    for name, lines in TRAPS.items():
        yield from literal(f"trap-{name}", NONE, lines, chunk=3)
    yield from literal("chat-reply", NONE, CHAT_REPLIES, chunk=3, reply=True)
    _ = LANGS
