"""A second batch of hand-written English posts, mostly replies and short everyday phrasings."""

# ruff: noqa: E501
from __future__ import annotations

import random
from collections.abc import Iterator

from training.phrases.common import BOTH, GH, ML, NONE, Gen, literal

GH_MORE = [
    "my PR has been sitting in review for 3 weeks, should I ping the maintainer or just wait",
    "accidentally pushed to main on a shared repo. the branch protection rules exist for people like me",
    "GitHub's 2FA requirement locked me out of my old account, recovery codes saved me",
    "the open source maintainer burnout is real, I just archived a repo with 5k stars on GitHub",
    "do you put screenshots in your PR descriptions? reviewers love it",
    "finally got the green checkmark on all CI jobs, time to merge",
    "the 'Approve' button on a friday afternoon PR is a dangerous thing",
    "GitHub Actions secrets are not available to PRs from forks, which is right but annoying",
    "wrote a GitHub Action that labels issues automatically based on the title",
    "our repo got featured on GitHub trending and the issue tracker exploded overnight",
    "turned on GitHub's secret scanning and it found an AWS key from 2019 in our history",
    "the GitHub diff view for notebooks is still unreadable",
    "people who leave detailed reproduction steps in GitHub issues, I love you",
    "released v2 of my static site generator, changelog and binaries on the GitHub releases page",
    "forking a repo just to fix a typo in the README is the purest form of open source",
    "the number of AI-generated spam PRs on popular GitHub repos is getting ridiculous",
    "GitHub Actions has a 6 hour job limit and our test suite found it",
    "the repo's issue tracker is the real documentation",
    "someone opened an issue titled 'doesn't work' with no other text. classic",
    "Copilot in the GitHub PR sidebar summarized a 40-file change better than the author did",
    "Actions workflow for publishing docs to GitHub Pages on every merge, took 10 minutes to set up",
    "GitHub Enterprise pricing went up again and finance is asking questions",
    "two-line fix, 40-comment PR thread. open source is a social activity",
    "I review PRs in the morning with coffee before anyone can ask me for anything",
    "rebase or merge commit? our team argued for an hour in the PR comments",
    "the maintainers added a CLA bot to the repo and half the contributors left",
    "new GitHub feature: sub-issues! finally we can break down epics without a separate tool",
    "learned today that GitHub renders mermaid diagrams in markdown. game changer for our docs",
    "the GitHub Sponsors matching fund ended and my donations dropped by half",
    "opened a draft PR just to see if CI passes before I write the description",
]
GH_REPLIES_MORE = [
    "open an issue on the repo, the maintainers are really responsive",
    "there's a GitHub Action for that, check the marketplace",
    "send a PR! they merged mine in a day",
    "the fix is already on main, just not released yet",
    "you can pin it to a commit SHA in your workflow file to be safe",
    "star the repo so they know people use it 🙂",
    "I think that's tracked in an open issue on their GitHub, worth adding a thumbs up",
    "check the CI logs, the Actions run probably failed on the lint step",
]
ML_MORE = [
    "the validation loss started going up at epoch 4, early stopping saved the run",
    "our annotators disagreed on 18% of labels, so our model's ceiling is lower than we thought",
    "swapped cross-entropy for focal loss on the imbalanced classes and recall jumped",
    "the LLM keeps inventing citations, we added a retrieval step that checks every reference",
    "inference on the edge with a 4-bit quantized model: 8 tokens/s on a phone",
    "working on an image classifier for bird species, the data augmentation makes a big difference",
    "prompt engineering is just hyperparameter tuning with extra steps",
    "batch size 1 inference is a waste of a GPU, use dynamic batching",
    "we fine-tuned a small model to extract invoice fields and it beats the big API on our data",
    "the bias audit of our hiring model found it penalized gaps in employment history",
    "a friendly reminder that accuracy is meaningless on a 99:1 class imbalance",
    "first time training on TPUs and the XLA compilation times are wild",
    "tokenization explains so many weird LLM failures, like counting letters in strawberry",
    "model compression thread: pruning, distillation, quantization, and when each one works",
    "our ML interview loop now includes debugging a broken training script, candidates love it",
    "the reinforcement learning agent found a bug in the simulator instead of learning to walk",
    "we built an eval set of 500 real user questions and it's the most valuable asset we have",
    "context windows keep growing but models still lose facts in the middle of long prompts",
    "spent the week labeling data myself, best way to understand the problem",
    "retraining the fraud model weekly now, the fraudsters adapt fast",
    "the new open model's license forbids using outputs to train other models, read the fine print",
    "gradient checkpointing let us double the batch size at 30% slower steps",
    "trying to explain backpropagation to my non-technical friends with a cooking analogy",
    "local LLMs are finally good enough for my note-taking app summaries",
    "the conference poster session was the best part, talked to the authors of three papers I love",
    "our recommendation model's cold start problem: new users get the same ten items",
    "used SHAP values to explain the credit model to regulators, they asked good questions",
    "clustering sentence embeddings of support tickets revealed three issues we didn't know about",
    "we're hiring an applied scientist to work on search ranking and LLM evaluation",
    "the AI regulation draft requires risk assessments for models used in hiring, finally",
]
ML_REPLIES_MORE = [
    "try a lower learning rate and longer warmup, that fixed it for us",
    "did you check for label leakage between train and test?",
    "the 8B model is plenty for classification, you don't need the 70B",
    "we saw the same thing, the eval set was in the pretraining data",
    "use a cross-encoder to rerank the top 50, it helps a lot",
    "quantize to int8 first and measure, 4-bit hurts on small models",
    "that's overfitting, add dropout or get more data",
    "embeddings plus a linear classifier is a strong baseline, start there",
]
BOTH_MORE = [
    "the repo for that model has a GitHub issue explaining why the reported benchmark can't be reproduced",
    "GitHub Copilot's completions got noticeably better after they switched models, anyone else?",
    "I keep a GitHub repo of tiny PyTorch implementations of classic papers, just added ResNet",
    "our GitHub Actions pipeline fine-tunes the model on a GPU runner and uploads it to the hub",
    "the most-starred new repos on GitHub this year are almost all LLM tooling",
    "sent a PR to the ollama repo adding support for a new embedding model",
    "the paper's GitHub repo is just a README saying 'code coming soon'. it's been a year",
    "using an LLM to triage GitHub issues in our repo, it labels 80% correctly",
]
NONE_MORE = [
    "winter tires on, ready for whatever this season brings",
    "my toddler's new word is 'no' and she uses it with conviction",
    "the choir concert was lovely, the kids did so well",
    "does anyone else rewatch the same comfort show every autumn",
    "grocery prices this week, I need to sit down",
    "walked 20k steps exploring the old town today",
    "the hospital staff were amazing during my dad's surgery, thank you nurses",
    "just voted! lines were short this morning",
    "started a vegetable garden on the balcony, the basil is thriving",
    "first snow of the year and the dog lost his mind with joy",
    "our wedding photographer sent the photos and I'm crying",
    "the neighbor's rooster starts at 4am sharp every day",
    "finished my first half marathon!! legs are jelly",
    "homemade pizza night, the dough finally worked",
    "job interview tomorrow, wish me luck",
    "the new season of bake off is so wholesome",
    "visited my grandparents' village, nothing has changed in 30 years",
    "sunrise swim in the lake, freezing and perfect",
    "my plants are thriving now that I stopped watering them every day",
    "a stranger paid for my coffee today, passing it on tomorrow",
    "kid's science fair project: a volcano, naturally",
    "traffic on the highway was a parking lot for two hours",
    "the dentist said I'm flossing well, best compliment of my year",
    "new episode of my favorite podcast dropped, that's my commute sorted",
    "cleaned the whole apartment and it'll stay clean for maybe an hour",
    "road trip playlist suggestions? driving 9 hours tomorrow",
    "the local bakery's cinnamon rolls are back for the season",
    "just finished a 1000 page fantasy novel and I feel empty",
    "the power went out during the storm so we played board games by candlelight",
    "my son scored his first goal at soccer practice and ran the wrong way celebrating",
    # more traps, new wordings
    "she modeled for a knitwear brand and the sweater sold out in a day",
    "my model airplane finally flew for 30 seconds before hitting a tree",
    "the architect showed us a 3D-printed model of the new house",
    "role model: my high school chemistry teacher, still",
    "new car model announced and it's another SUV",
    "the business model of that restaurant is 'overpriced brunch', and it works",
    "learning to bake bread this winter, my starter is named Doughy",
    "python snakes are surprisingly gentle, held one at the zoo today",
    "Monty Python marathon tonight, bring your own coconuts",
    "the neural tube forms so early in pregnancy, folate matters",
    "my copilot for this hike is a very tired corgi",
    "training my puppy to sit is going about as well as you'd expect",
    "the Transformers movie marathon on TV this weekend, Michael Bay explosions all day",
    "hit a new personal record on the bench press",
    "AI-themed crypto tokens are dumping hard after the hype cycle",
    "git your grubby hands off my fries",
    "my landlord is an absolute git about the heating",
    "the runway show in Milan had the models walking through water",
    "the Python family includes the largest snakes on earth",
    "gradient descent... of my mood as the weekend ends, lol",
    "the attention to detail in this restaurant is unreal",
    "her LLM in environmental law led to a job at the UN",
    "copilot on the rally stage was shouting pace notes, we finished third",
    "model railroading at the county fair, the kids were glued to it",
    "learning Italian so I can finally read Ferrante in the original",
    "the color gradient on the new pride flag mural is stunning",
    "this token sale promises AI utility and delivers a logo",
    "the old electrical transformer behind the school hums all day",
    "my marathon training plan has a taper week, I love taper week",
    "the gym has a new 'AI-powered' treadmill, it's a treadmill",
]
NONE_REPLIES_MORE = [
    "this made my day, thank you for sharing",
    "I'd love to come next time!",
    "happy birthday!! 🎂",
    "that looks delicious, recipe please",
    "your garden is gorgeous",
    "so sorry for your loss 💙",
    "hahaha the cat's face",
    "can confirm, the bakery is amazing",
]


def generators(rng: random.Random) -> Iterator[Gen]:
    _ = rng
    yield from literal("gh-more", GH, GH_MORE)
    yield from literal("gh-reply-more", GH, GH_REPLIES_MORE, reply=True, chunk=2)
    yield from literal("ml-more", ML, ML_MORE)
    yield from literal("ml-reply-more", ML, ML_REPLIES_MORE, reply=True, chunk=2)
    yield from literal("both-more", BOTH, BOTH_MORE, chunk=2)
    yield from literal("none-more", NONE, NONE_MORE, chunk=3)
    yield from literal("none-reply-more", NONE, NONE_REPLIES_MORE, reply=True, chunk=2)


GH_EXTRA = [
    "GitHub Copilot's monthly premium request limit hit me on the 12th, what is this pricing",
    "the Actions tab on our repo is a wall of red because a dependency yanked a release",
    "our open source project moved its issue tracker from Jira to GitHub Issues and contributions doubled",
    "reviewers, please use GitHub's suggestion blocks, it makes accepting fixes one click",
    "my GitHub profile README has a snake eating my contribution graph and I regret nothing",
    "GitHub is rolling out passkeys and I finally ditched my authenticator app",
    "anyone else get the GitHub email that your personal access token expires in 7 days, for a token you forgot existed",
    "the release is tagged on GitHub but the package registry upload failed, back to the workflow logs",
    "our repo template on GitHub sets up lint, tests and release workflows for every new service",
    "GitHub's new 'files changed' page is so much faster on big PRs",
    "wild that the whole world's open source infrastructure depends on GitHub staying up",
    "finally wrote a CONTRIBUTING guide for my GitHub project after the 10th 'how do I run tests' issue",
    "a drive-by PR fixed a bug I'd been chasing for months. thank you, stranger on GitHub",
    "Copilot Chat explained a legacy Perl script in our repo better than its author could",
    "maintainers: the GitHub 'lock conversation' button is self-care",
    "the GitHub Actions cache limit is 10GB per repo and our Rust builds want 30",
]
ML_EXTRA = [
    "our churn model's top feature was 'days since last login', which, yes, we knew",
    "trained a tiny character-level language model on my grandmother's recipes, it invents great soups",
    "annotation tool recommendations for a small NER project? label studio or prodigy?",
    "how many GPU hours did that training run take? the paper doesn't say and it matters",
    "the model confidently classified my cat as a loaf of bread. fair",
    "few-shot prompting vs fine-tuning on 200 examples: fine-tuning won by 9 points on our task",
    "hallucination rate dropped when we made the model say 'I don't know' in the training data",
    "on-call for an ML system means waking up because the input distribution changed",
    "cheap trick: normalize your embeddings before cosine similarity, fixed our search ranking",
    "the new speech model transcribes our meetings with speaker labels, finally usable",
    "our synthetic data pipeline generates 100k training examples for $30 of inference",
    "AI governance at our company is a spreadsheet of models and who owns them, it's a start",
    "a visual explanation of how attention works in transformers, the best one I've seen",
    "every ML project starts with 'we have lots of data' and ends with 'the data is in 40 spreadsheets'",
    "the robustness paper shows a one-pixel change flips the image classifier, still unsettling",
    "benchmarking LLM latency: time to first token matters more than tokens per second for chat",
]
NONE_EXTRA = [
    "the autumn leaves in the park are at their peak this week",
    "our cat learned to open the cupboard with the treats, we are doomed",
    "finally framed the poster I bought three years ago",
    "my sister's baby shower was adorable, so many tiny socks",
    "it's soup season and I have made four soups this week",
    "the train to the coast was packed but the beach was empty",
    "fixed the bike chain myself with a youtube video, feeling unstoppable",
    "my neighbor plays the trumpet at 7am, every day, badly",
    "went to a silent disco and it was the most fun I've had in years",
    "the school bake sale raised enough for new library books",
    "my phone screen cracked for the third time this year",
    "sitting in a cafe watching the rain, no plans, no rush",
    "is it too early for christmas music? asking for my roommate who started in october",
    "my grandpa's war stories get better every year",
    "our book club picked a 700-page novel for a one-month read. bold",
    "the ice cream truck came by in november, respect",
    "packed lunches for the whole week, feeling like an adult",
    "caught the sunrise from the mountain top, totally worth the 4am alarm",
    "the knitting circle at the library is the best part of my week",
    "took the long way home just to see the city lights",
    "my kid built a fort out of every cushion in the house",
    "someone on my street put out a free box with a perfectly good lamp",
    "the farmers market apples this year are incredible",
    "trying to cut back on caffeine, it's going terribly",
    "had the best conversation with a taxi driver about jazz",
    "my running club did a costume 5k and I was a banana",
    "watching old home videos with my parents, the 90s haircuts",
    "new glasses, I can see the leaves on trees again",
    "got a library card for my daughter today, she checked out 12 books",
    "the local theater's production of Hamlet was surprisingly funny",
    # traps, third wording
    "the LLM degree admissions office finally replied, I'm in for next fall",
    "she's a fashion model turned photographer and her portraits are stunning",
    "opened a vintage Transformers box from 1985 and it still smelled like plastic",
    "the python at the reptile rescue needs a new home, very docile",
    "git outta town, you got the job?!",
    "the captain let the copilot do the landing and everyone clapped",
    "neural tube defect screening is part of the standard prenatal bloodwork here",
    "model train swap meet on saturday, bring your spare locomotives",
    "learning Italian verbs while doing the dishes, multitasking queen",
    "gradient background on my new wallpaper, simple and calming",
    "every influencer is shilling the same AI token this week",
    "the cover model for this month's magazine is a 70-year-old, love it",
    "our school's LLM alumni dinner is the same night as the bar results",
    "pet python update: she ate! first meal in three weeks",
    "crypto bros rebranding their tokens as AI is the funniest thing this year",
    "the neural tube and the notochord, my embryology flashcards are multiplying",
    "I learned more Italian from one summer in Bologna than two years of classes",
    "my scale model of the Titanic took 200 hours",
    "the co-pilot on our flight to Lisbon was doing the announcements in three languages",
    "the gradient on that hill climb nearly killed me",
]


BOTH_EXTRA = [
    "our paper's code is on GitHub but the pretrained checkpoints are 80GB, so they're on the hub instead",
    "opened a GitHub issue on the transformers repo: the new tokenizer breaks batch inference with padding",
    "my GitHub Actions workflow runs a nightly eval of our LLM prompts and fails if quality drops",
    "the open-source LLM inference engines on GitHub are moving so fast I rebench every month",
    "Copilot suggested a training loop with the optimizer step before backward, so, no",
    "maintaining an ML library on GitHub means every issue is 'CUDA out of memory'",
    "PR merged into PyTorch! a small fix to the learning rate scheduler docs",
    "published the dataset and the baseline classifier code on GitHub, MIT license",
    "the GitHub repo for that diffusion paper finally released training code, not just inference",
    "using GitHub Codespaces with a GPU to teach a deep learning class, surprisingly smooth",
    "reviewing a PR that adds LoRA support to our training library, 2k lines, send coffee",
    "the MLOps repo template on GitHub sets up data versioning, training and model registry in one go",
]


LAST_GH = [
    "the GitHub Actions bill for our open source org is covered by a sponsor now, huge relief",
    "github issue #1 on my repo is still open from 2017 and at this point it's a monument",
    "hit the GitHub API rate limit while scraping my own stars, how embarrassing",
    "the new GitHub repository rulesets replaced our pile of branch protection hacks",
    "pushed a commit, went for a walk, came back to 40 failed Actions runs from a typo in the workflow yaml",
    "fun GitHub feature: add ?w=1 to a PR diff URL to hide whitespace changes",
    "the org's GitHub audit log told us exactly who deleted the release, mystery solved",
    "someone on GitHub translated my whole project's docs to Portuguese, unprompted. I love this community",
    "please stop opening GitHub issues to ask questions, that's what Discussions is for 😅",
    "moved my repos off GitHub to Codeberg this week, curious how the community side compares",
    "a GitHub star is not a code review, but it's a nice feeling",
    "our deploy pipeline: merge the PR, GitHub Actions builds the image, done by lunch",
]
LAST_ML = [
    "training data attribution is going to be the next big research area, mark my words",
    "the transformer architecture hasn't really changed since 2017, we just made it bigger and cheaper",
    "we deployed a small vision model on a drone for crop disease detection",
    "LLM routing: send easy questions to the cheap model, hard ones to the big one, saved 70%",
    "neural network pruning finally worked for us once we retrained after each step",
    "the AI lab released a 300-page system card, I read the eval section so you don't have to",
    "our text classifier's confusion matrix looks like modern art",
    "data labeling vendors vary wildly in quality, audit a sample before paying",
    "grid search over learning rates is the most expensive way to learn that 3e-4 is fine",
    "the embeddings API changed its default dimensions and broke our vector index",
    "a good baseline for any NLP task: TF-IDF plus logistic regression. beat it before you fine-tune",
    "the new reasoning model spends 2,000 tokens thinking about a yes/no question",
]
LAST_NONE = [
    "our local library has a seed exchange now, got heirloom tomatoes",
    "the airline lost my bag, again, same airport, same month",
    "my nephew beat me at chess and hasn't stopped talking about it",
    "finally fixed the leaky faucet, plumber who?",
    "the new bakery uses a sourdough starter from 1890, allegedly",
    "watching the snow fall with hot chocolate, a perfect evening",
    "our dog ate a whole sock and is fine, vet bill is less fine",
    "the orchestra played Dvořák tonight and I had chills",
    "three hours of assembling furniture, two screws left over",
    "first day at the new job, everyone is so nice",
    "the kids made breakfast in bed for mother's day, the kitchen is a crime scene",
    "it's finally warm enough to eat lunch outside",
    "Microsoft's quarterly earnings beat expectations, the stock is up 4% after hours",
    "the stock market had a rough day, my retirement account is crying",
    "new tablet for my mom, teaching her to video call",
    "the weather app said sunny and I am soaked",
    "shoutout to the barista who remembers my order",
    "booked a cabin in the woods for the weekend, no wifi, wish me luck",
]


FORGE_TRAPS = [
    (
        "https://codeberg.org/mika/kitchen-timer",
        "moved kitchen-timer to Codeberg, issues and PRs welcome there now {URL}",
    ),
    (
        "https://gitlab.com/rhea-s/plotkit/-/merge_requests/42",
        "my merge request finally landed, thanks to the reviewers {URL}",
    ),
    (
        "https://gitlab.com/rhea-s/plotkit/-/releases",
        "plotkit 1.4 is released, changelog on the GitLab page {URL}",
    ),
    ("https://codeberg.org/anvil/anvil/issues/88", "filed a bug about the config parser {URL}"),
    (
        "https://git.sr.ht/~jk/tinyshell",
        "my tiny shell is on sourcehut, patches by email like it's 1999 {URL}",
    ),
    (
        "https://codeberg.org/ramen/website",
        "the source for my personal site, CI builds it on every push {URL}",
    ),
    ("https://gitlab.freedesktop.org/mesa/mesa", "the Mesa issue tracker is a fascinating read {URL}"),
    ("https://bitbucket.org/nordlab/sensor-fw", "our firmware repo, pull requests need two approvals {URL}"),
    (
        "https://codeberg.org/lotte/recipes-cli",
        "a CLI for my recipe collection, star it if you like it {URL}",
    ),
    (
        "https://gitlab.com/openfarm/irrigation",
        "open source irrigation controller, contributions welcome {URL}",
    ),
    (
        "https://git.sr.ht/~nina/weather-bot",
        "weather bot source is up, the README explains how to self-host {URL}",
    ),
    (
        "https://codeberg.org/hollow/hollow-game/releases",
        "new release of our little game with controller support {URL}",
    ),
]
FORGE_TALK = [
    "our team runs its own Forgejo instance, the CI runners are two old laptops",
    "GitLab CI pipelines are green again after we pinned the docker image",
    "the merge request review on our self-hosted GitLab takes a week on average",
    "sourcehut's mailing-list patch workflow is growing on me",
    "Gitea 1.22 upgrade went smoothly on the home server",
    "Codeberg is down for maintenance tonight, patience everyone",
]
INTL_ML_MORE = {
    "ja": [
        "生成AIの評価指標について社内勉強会をした",
        "Transformerの注意機構を図で説明する資料を作った",
        "学習率を下げたら損失が安定した",
    ],
    "pt": [
        "treinamos um classificador de texto com embeddings e regressão logística",
        "o modelo de linguagem inventou referências que não existem",
        "ajustei a taxa de aprendizado e o treino estabilizou",
    ],
    "es": [
        "ajustamos la tasa de aprendizaje y el entrenamiento por fin converge",
        "el modelo de visión confunde perros con lobos en la nieve",
        "evaluar agentes de IA es mucho más difícil que evaluar chatbots",
    ],
    "de": [
        "unser Klassifikator verwechselt Ironie mit echtem Lob",
        "die Lernrate war zu hoch, jetzt konvergiert das Training",
        "KI-Agenten zu evaluieren ist viel schwieriger als gedacht",
    ],
    "fr": [
        "le taux d'apprentissage était trop élevé, l'entraînement diverge",
        "notre classifieur confond l'ironie et les compliments",
        "les agents d'IA sont difficiles à évaluer correctement",
    ],
}


def extra_generators(rng: random.Random) -> Iterator[Gen]:
    for index, (url, text) in enumerate(FORGE_TRAPS):
        yield f"forge{index}", NONE, "en", (lambda t=text, u=url: [{"text": t, "urls": [u]}])
    yield from literal("forge-talk", NONE, FORGE_TALK, chunk=2)
    for lang, lines in INTL_ML_MORE.items():
        yield from literal(f"{lang}-ml-more", ML, lines, lang=lang, chunk=2)
    _ = rng
    yield from literal("both-extra", BOTH, BOTH_EXTRA, chunk=2)
    yield from literal("last-gh", GH, LAST_GH)
    yield from literal("last-ml", ML, LAST_ML)
    yield from literal("last-none", NONE, LAST_NONE, chunk=3)
    yield from literal("gh-extra", GH, GH_EXTRA)
    yield from literal("ml-extra", ML, ML_EXTRA)
    yield from literal("none-extra", NONE, NONE_EXTRA, chunk=3)
