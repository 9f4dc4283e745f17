"""Posts in ja, pt, es, de and fr: each language gets GitHub, ML, both and neither (with local traps)."""

# ruff: noqa: E501
from __future__ import annotations

import random
from collections.abc import Iterator

from training.phrases.common import (
    ARXIV,
    BOTH,
    GH,
    GH_REPOS,
    ML,
    ML_REPOS,
    NONE,
    Gen,
    literal,
    repo_card,
)

TEXTS: dict[str, dict[str, list[str]]] = {
    "ja": {
        "gh": [
            "GitHubのActionsが今日ずっと遅い…デプロイが終わらない",
            "初めてのプルリクがマージされた！嬉しい",
            "個人開発のツールをGitHubで公開しました。スターもらえると励みになります",
            "GitHubのIssueで丁寧にバグ報告したらすぐ直してもらえた",
            "Copilotのコードレビュー機能、指摘が細かすぎて笑う",
            "GitHubが落ちてる？pushできない",
            "dotfilesをGitHubで管理し始めた",
        ],
        "ml": [
            "LLMのファインチューニング、LoRAで試したら思ったより精度が上がった",
            "日本語の埋め込みモデルを比較してみた。検索タスクでは差が大きい",
            "機械学習の論文読み会、今週はRLHFの論文です",
            "ローカルでLLMを動かすなら量子化が必須",
            "学習データの品質がモデル性能を左右する、本当にそう",
            "推論速度を上げるためにバッチ処理を見直した",
            "評価データにリークがあって全部やり直し…",
        ],
        "both": [
            "論文のコードをGitHubで公開しました。学習スクリプトも含みます",
            "llama.cppのリポジトリに日本語トークナイザの修正PRを出した",
        ],
        "none": [
            "今日は雨なので家でゆっくりコーヒー",
            "猫がキーボードの上で寝てて仕事にならない",
            "週末は鉄道模型のレイアウトを作っていた",
            "ファッションショーのモデルさんたちが本当にかっこよかった",
            "イタリア語の勉強を始めて三ヶ月",
            "ラーメン屋の行列がすごかった",
            "副操縦士のアナウンスが丁寧で安心した",
            "新しいトランスフォーマーのおもちゃを息子が欲しがってる",
            "紅葉がきれいな季節になりました",
        ],
    },
    "pt": {
        "gh": [
            "alguém mais com o GitHub fora do ar? não consigo dar push",
            "meu primeiro pull request foi aceito num projeto open source!!",
            "coloquei o código no GitHub, quem quiser contribuir é só abrir uma issue",
            "o GitHub Actions tá demorando uma eternidade hoje",
            "dica: usem o Dependabot no GitHub pra manter as dependências atualizadas",
            "o projeto passou de mil estrelas no GitHub, obrigado galera",
        ],
        "ml": [
            "treinei um modelo de linguagem pequeno em português e os resultados me surpreenderam",
            "fine-tuning com LoRA numa GPU de 24GB funciona muito bem",
            "avaliação de LLMs ainda é o maior desafio, os benchmarks estão contaminados",
            "aprendizado de máquina na prática é 80% limpeza de dados",
            "artigo novo sobre embeddings multilíngues, vale a leitura",
            "nosso classificador de sentimentos errava ironia o tempo todo",
        ],
        "both": [
            "publicamos o código do artigo no GitHub, com os pesos do modelo",
            "abri uma issue no repositório do vLLM sobre uso de memória",
        ],
        "none": [
            "a modelo brasileira arrasou no desfile de Milão",
            "aprendendo italiano pro intercâmbio, a gramática é difícil",
            "minha píton de estimação trocou de pele hoje",
            "café da manhã com pão de queijo, dia perfeito",
            "o jogo de ontem foi emocionante demais",
            "finalmente terminei de ler aquele livro enorme",
            "o copiloto avisou que vamos pousar mais cedo",
            "comprei um trenzinho de modelismo pro meu pai",
        ],
    },
    "es": {
        "gh": [
            "¿a alguien más se le cayó GitHub? no puedo hacer push",
            "mi primer pull request en un proyecto grande fue aceptado 🎉",
            "subí el código a GitHub, cualquier issue es bienvenida",
            "las GitHub Actions van lentísimas hoy",
            "Copilot me sugirió media función y estaba bien, da miedo",
            "archivé todos mis repos viejos de GitHub de la universidad",
        ],
        "ml": [
            "entrené un modelo de lenguaje con datos en español y funciona mejor de lo esperado",
            "los modelos grandes de lenguaje siguen alucinando citas bibliográficas",
            "probando cuantización a 4 bits para correr el LLM en mi portátil",
            "el aprendizaje automático en producción es sobre todo monitorear datos",
            "nuevo artículo sobre evaluación de LLMs en tareas de razonamiento",
            "nuestro sistema RAG mejoró mucho con mejores embeddings",
        ],
        "both": [
            "liberamos el código de nuestro paper en GitHub, con los scripts de entrenamiento",
            "mandé un PR a transformers para arreglar el tokenizador en español",
        ],
        "none": [
            "las modelos del desfile llevaban unos abrigos preciosos",
            "aprendiendo italiano con una app, voy por el día 100",
            "el copiloto del rally leía las notas a toda velocidad",
            "hoy hace un calor insoportable en Sevilla",
            "mi gato duerme todo el día, qué envidia",
            "cena con amigos y tortilla de patatas, lo mejor",
            "compré una maqueta de tren antigua en el rastro",
            "el concierto de anoche fue increíble",
        ],
    },
    "de": {
        "gh": [
            "ist GitHub gerade down? Push hängt seit Minuten",
            "mein erster Pull Request wurde gemergt, ich freue mich riesig",
            "der Code liegt auf GitHub, Issues und PRs willkommen",
            "GitHub Actions Runner sind heute extrem langsam",
            "wir haben unsere CI komplett auf GitHub Actions umgestellt",
            "Sterne auf GitHub sind die Währung der Open-Source-Welt",
        ],
        "ml": [
            "wir haben ein Sprachmodell mit LoRA feinjustiert, die Ergebnisse sind gut",
            "maschinelles Lernen in der Praxis: Datenqualität schlägt Modellgröße",
            "neues Paper zu effizienter Inferenz von großen Sprachmodellen",
            "die Evaluierung von LLMs ist schwieriger als das Training",
            "Embeddings für deutsche Texte: welches Modell nutzt ihr?",
            "das neuronale Netz überanpasst nach drei Epochen",
        ],
        "both": [
            "der Code zu unserem Paper ist jetzt auf GitHub, inklusive Trainingsskripten",
            "PR an llama.cpp geschickt, um die Quantisierung zu beschleunigen",
        ],
        "none": [
            "die Modelleisenbahn im Keller ist endlich fertig",
            "Italienisch lernen mit Duolingo, Tag 50",
            "der Kopilot hat uns sicher durch den Sturm gebracht",
            "Models auf dem Laufsteg in Berlin, tolle Kollektion",
            "Sonntag, Kuchen und Regen, perfekt",
            "der Zug hat mal wieder 40 Minuten Verspätung",
            "unser Hund hat den ganzen Garten umgegraben",
            "Weihnachtsmarkt eröffnet, Glühwein ist teuer geworden",
        ],
    },
    "fr": {
        "gh": [
            "GitHub est en panne ou c'est moi ? impossible de pousser",
            "ma première pull request acceptée sur un gros projet !",
            "le code est sur GitHub, n'hésitez pas à ouvrir des issues",
            "les GitHub Actions sont super lentes aujourd'hui",
            "Copilot a relu ma PR et n'a trouvé que des fautes de frappe",
            "j'ai enfin mis mes dotfiles sur GitHub",
        ],
        "ml": [
            "on a fine-tuné un modèle de langue sur des textes juridiques français",
            "l'apprentissage automatique en production, c'est surtout de la surveillance des données",
            "nouveau papier sur la quantification des grands modèles de langage",
            "les benchmarks de LLM sont contaminés, il faut de nouvelles évaluations",
            "notre modèle d'embeddings multilingue marche bien en français",
            "séminaire de lecture cette semaine sur l'apprentissage par renforcement à partir de retours humains",
        ],
        "both": [
            "le code de notre article est disponible sur GitHub avec les poids du modèle",
            "j'ai envoyé une PR à scikit-learn pour corriger un exemple",
        ],
        "none": [
            "les mannequins du défilé portaient des robes incroyables",
            "j'apprends l'italien pour les vacances à Naples",
            "le copilote nous a annoncé un atterrissage en avance",
            "un python s'est échappé d'un appartement à Lyon",
            "croissants et café en terrasse, le bonheur",
            "le match d'hier soir était incroyable",
            "mon train miniature tourne enfin autour du sapin",
            "il pleut encore à Paris, quelle surprise",
        ],
    },
}
LINKED = {
    "ja": ("便利なCLIツールを見つけた {URL}", "論文の実装です {URL}", "この論文面白い {URL}"),
    "pt": (
        "achei essa ferramenta incrível {URL}",
        "código do modelo aqui {URL}",
        "artigo interessante {URL}",
    ),
    "es": (
        "esta herramienta me salvó el día {URL}",
        "el código del modelo está aquí {URL}",
        "artículo muy interesante {URL}",
    ),
    "de": ("dieses Tool ist richtig gut {URL}", "Code für das Modell hier {URL}", "spannendes Paper {URL}"),
    "fr": ("cet outil est génial {URL}", "le code du modèle est ici {URL}", "article passionnant {URL}"),
}


def generators(rng: random.Random) -> Iterator[Gen]:
    labels = {"gh": GH, "ml": ML, "both": BOTH, "none": NONE}
    for lang, groups in TEXTS.items():
        for key, lines in groups.items():
            yield from literal(f"{lang}-{key}", labels[key], lines, lang=lang, chunk=3)
        gh_text, both_text, ml_text = LINKED[lang]

        def linked(gh_text=gh_text, both_text=both_text, ml_text=ml_text) -> list[dict]:
            repo, desc, _ = rng.choice(GH_REPOS)
            ml_repo, ml_desc, _ = rng.choice(ML_REPOS)
            arxiv_id, title, abstract = rng.choice(ARXIV)
            arxiv = f"https://arxiv.org/abs/{arxiv_id}"
            return [
                {"text": gh_text, "urls": [f"https://github.com/{repo}"], "card": repo_card(repo, desc)},
                {"text": ml_text, "urls": [arxiv], "card": (arxiv, f"[{arxiv_id}] {title}", abstract)},
            ]

        def linked_both(both_text=both_text) -> list[dict]:
            ml_repo, ml_desc, _ = rng.choice(ML_REPOS)
            return [
                {
                    "text": both_text,
                    "urls": [f"https://github.com/{ml_repo}"],
                    "card": repo_card(ml_repo, ml_desc),
                }
            ]

        yield f"{lang}-linked", GH, lang, lambda f=linked: f()[:1]
        yield f"{lang}-linked-ml", ML, lang, lambda f=linked: f()[1:]
        yield f"{lang}-linked-both", BOTH, lang, linked_both


MORE: dict[str, dict[str, list[str]]] = {
    "ja": {
        "gh": [
            "GitHub Pagesでポートフォリオを公開した",
            "OSSのリポジトリにIssueを立てたら翌日には修正された",
        ],
        "ml": [
            "画像分類モデルの学習でデータ拡張が効いた",
            "RAGの検索精度を上げるためにチャンク分割を見直した",
        ],
        "none": [
            "朝からパンを焼いた、いい匂い",
            "ニシキヘビを動物園で触らせてもらった",
            "コパイロットじゃなくて副操縦士の話です、今日のフライト最高",
            "週末は温泉でのんびり",
        ],
    },
    "pt": {
        "gh": [
            "alguém sabe configurar o GitHub Pages com domínio próprio?",
            "o Copilot do GitHub revisou meu PR e achou um bug de verdade",
        ],
        "ml": [
            "comparando modelos de embeddings para busca semântica em português",
            "o modelo começou a sofrer overfitting depois da quinta época",
        ],
        "none": [
            "praia no domingo, sol e água de coco",
            "meu filho quer ser modelo de passarela",
            "a feira de domingo tinha as melhores frutas",
            "aprendendo a tricotar com a minha avó",
        ],
    },
    "es": {
        "gh": [
            "configuré GitHub Pages para mi blog, gratis y sin servidor",
            "el issue que abrí en GitHub ya tiene 200 reacciones",
        ],
        "ml": [
            "los datos de entrenamiento tenían etiquetas erróneas y el modelo las aprendió todas",
            "comparamos tres modelos de embeddings para búsqueda en español",
        ],
        "none": [
            "paella en familia el domingo",
            "mi sobrina quiere ser modelo de pasarela",
            "los trenes en miniatura de mi abuelo son una joya",
            "vi una pitón enorme en el zoológico",
        ],
    },
    "de": {
        "gh": [
            "GitHub Pages für meine Doku eingerichtet, total einfach",
            "Copilot hat in meinem Pull Request einen echten Fehler gefunden",
        ],
        "ml": [
            "unsere Trainingsdaten hatten viele falsche Labels, das Modell hat sie gelernt",
            "Retrieval mit Embeddings funktioniert für deutsche Fachtexte überraschend gut",
        ],
        "none": [
            "Wanderung im Schwarzwald, herrliches Wetter",
            "meine Nichte modelt jetzt für eine Modemarke",
            "der Python im Zoo war riesig",
            "Herbstlaub im Park, wunderschön",
        ],
    },
    "fr": {
        "gh": [
            "j'ai publié mon portfolio sur GitHub Pages",
            "l'issue que j'ai ouverte sur GitHub a été corrigée en une journée",
        ],
        "ml": [
            "nos données d'entraînement avaient des étiquettes fausses et le modèle les a apprises",
            "on compare des modèles d'embeddings pour la recherche en français",
        ],
        "none": [
            "balade au bord de la mer ce week-end",
            "ma cousine est mannequin pour une marque de luxe",
            "les dégradés de couleurs de ce coucher de soleil",
            "marché de Noël ouvert, vin chaud obligatoire",
        ],
    },
}
for _lang, _groups in MORE.items():
    for _key, _lines in _groups.items():
        TEXTS[_lang][_key] = TEXTS[_lang][_key] + _lines
