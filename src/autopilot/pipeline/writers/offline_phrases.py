"""Everything the offline writer says, in Dutch and in English.

Templates use ``{k}`` for the keyword and ``{K}`` for it with a capital.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """A heading with the sentences that belong under it, and one to end on."""

    heading: str
    sentences: tuple[str, ...]
    closing: str = ""


@dataclass(frozen=True)
class Phrases:
    """Everything the offline writer says, in one language.

    Templates use ``{k}`` for the keyword and ``{K}`` for it with a capital.
    """

    note: str
    progress: str
    titles: tuple[str, ...]
    metas: tuple[str, ...]
    intro: Topic
    topics: tuple[Topic, ...]
    general: tuple[str, ...]
    openers: tuple[str, ...]
    faq_heading: str
    faq: tuple[Topic, ...]
    conclusion: Topic


DUTCH = Phrases(
    note=(
        "> **Offline concept — geschreven zonder taalmodel.** Deze tekst is "
        "opgebouwd uit vaste sjablonen: herschrijf hem of schakel een taalmodel "
        "in voor een echt artikel."
    ),
    progress="sectie {i} van {n}",
    titles=(
        "{K}: alles wat je moet weten",
        "{K}: de complete gids",
        "{K} uitgelegd: tips en aandachtspunten",
        "Aan de slag met {k}: een praktische gids",
    ),
    metas=(
        "Lees alles over {k}: wat het is, waar je op let en hoe je slim begint. "
        "Met praktische tips en antwoorden op veelgestelde vragen.",
        "Ontdek hoe je {k} goed aanpakt. Heldere uitleg, praktische tips en "
        "antwoorden op de vragen die iedereen stelt.",
    ),
    intro=Topic(
        "",
        (
            "Wie zich verdiept in {k}, vindt al snel veel informatie, maar niet "
            "alles is even bruikbaar.",
            "In dit artikel zetten we de belangrijkste punten over {k} helder op "
            "een rij.",
            "Je leest wat {k} inhoudt, waar je op let en hoe je het in de praktijk "
            "aanpakt.",
            "Of je nu net begint of al wat ervaring hebt: met de juiste aanpak haal "
            "je meer uit {k}.",
        ),
        closing="Aan het eind vind je antwoorden op de vragen die het vaakst "
        "gesteld worden.",
    ),
    topics=(
        Topic(
            "Wat is {k} precies?",
            (
                "{K} klinkt voor veel mensen eenvoudig, maar er zit meer achter dan "
                "je op het eerste gezicht zou denken.",
                "In de kern gaat het om een onderwerp waarbij kennis, voorbereiding "
                "en een paar goede keuzes het verschil maken.",
                "Wie de basis begrijpt, kan later veel gerichter beslissen.",
                "Het loont daarom om eerst stil te staan bij wat {k} voor jouw "
                "situatie betekent.",
            ),
        ),
        Topic(
            "Waarom {k} belangrijk is",
            (
                "Een doordachte aanpak van {k} levert vaak meer op dan je vooraf "
                "verwacht.",
                "Het bespaart tijd, voorkomt onnodige kosten en geeft je meer grip "
                "op het resultaat.",
                "Kleine verbeteringen op dit vlak stapelen zich na verloop van tijd "
                "op.",
                "Daarom is het de moeite waard om er bewust mee bezig te zijn.",
            ),
        ),
        Topic(
            "De belangrijkste voordelen van {k}",
            (
                "Het grootste voordeel van {k} is dat je met een overzichtelijke "
                "inspanning zichtbaar resultaat boekt.",
                "Daarnaast krijg je een beter beeld van wat wel en niet werkt.",
                "Veel mensen ervaren ook meer rust, omdat ze weten waar ze aan toe "
                "zijn.",
                "Die voordelen worden groter naarmate je er consequenter mee omgaat.",
            ),
        ),
        Topic(
            "Zo begin je met {k}",
            (
                "Begin met een duidelijk doel: wat wil je met {k} bereiken, en "
                "wanneer ben je tevreden?",
                "Maak daarna een eenvoudige planning met een paar haalbare stappen.",
                "Verzamel de informatie die je nodig hebt voordat je grote "
                "beslissingen neemt.",
                "Door klein te beginnen leer je snel en kun je onderweg bijsturen.",
            ),
        ),
        Topic(
            "Veelgemaakte fouten bij {k}",
            (
                "Een veelgemaakte fout is te snel willen en de voorbereiding "
                "overslaan.",
                "Ook de benodigde tijd wordt vaak onderschat.",
                "Daarnaast wordt advies van anderen soms klakkeloos overgenomen, "
                "zonder te kijken of het bij de eigen situatie past.",
                "Wie deze valkuilen kent, vermijdt ze met een beetje aandacht.",
            ),
        ),
        Topic(
            "Praktische tips voor {k}",
            (
                "Houd bij wat je doet, zodat je later ziet welke keuzes het beste "
                "uitpakten.",
                "Vraag advies aan mensen die al ervaring hebben met {k}.",
                "Plan vaste momenten om je aanpak te evalueren en waar nodig bij te "
                "stellen.",
                "En vooral: blijf realistisch over wat je in korte tijd kunt bereiken.",
            ),
        ),
        Topic(
            "Waar let je op bij het kiezen?",
            (
                "Bij {k} heb je vaak meerdere mogelijkheden, en niet elke optie past "
                "bij iedereen.",
                "Kijk naar je budget, de tijd die je beschikbaar hebt en je eigen "
                "ervaring.",
                "Vergelijk een paar alternatieven naast elkaar voordat je kiest.",
                "Een keuze die bij je situatie past, is meestal beter dan de keuze "
                "die het populairst is.",
            ),
        ),
        Topic(
            "Kosten en tijdsinvestering",
            (
                "Wat {k} kost, hangt sterk af van je wensen en van de manier waarop "
                "je het aanpakt.",
                "Reken niet alleen met geld, maar ook met de tijd die je erin steekt.",
                "Een kleine investering in goede voorbereiding voorkomt vaak grotere "
                "uitgaven later.",
                "Zet de verwachte kosten en baten op een rij, zodat je een bewuste "
                "afweging maakt.",
            ),
        ),
        Topic(
            "{K} stap voor stap",
            (
                "Een stapsgewijze aanpak maakt {k} overzichtelijk en goed te behappen.",
                "Begin bij de basis, bouw verder op wat werkt en sluit af met een "
                "evaluatie.",
                "Na elke stap is het slim om even terug te kijken voordat je "
                "verdergaat.",
                "Zo houd je overzicht en zie je geen belangrijke details over het "
                "hoofd.",
            ),
        ),
        Topic(
            "{K} in de praktijk",
            (
                "In de praktijk verloopt {k} zelden precies volgens plan.",
                "Onverwachte situaties horen erbij, dus flexibiliteit is een "
                "belangrijke eigenschap.",
                "Wie openstaat voor bijsturen, haalt het meeste uit zijn inspanningen.",
                "Ervaringen van anderen helpen je om sneller de juiste keuzes te "
                "maken.",
            ),
        ),
        Topic(
            "Hulpmiddelen die {k} makkelijker maken",
            (
                "Er zijn tal van hulpmiddelen die {k} een stuk eenvoudiger maken.",
                "Denk aan checklists, handige apps of een eenvoudig overzicht op "
                "papier.",
                "Het gaat er niet om dat je alles gebruikt, maar dat je kiest wat bij "
                "je werkwijze past.",
                "Een goed hulpmiddel bespaart tijd en zorgt dat je niets vergeet.",
            ),
        ),
        Topic(
            "Trends en ontwikkelingen rond {k}",
            (
                "Ook rond {k} staan de ontwikkelingen niet stil.",
                "Nieuwe inzichten en werkwijzen maken goede resultaten steeds "
                "makkelijker haalbaar.",
                "Het loont om op de hoogte te blijven, zonder elke nieuwe trend "
                "meteen te volgen.",
                "Kijk vooral naar wat aantoonbaar werkt en wat bij je eigen doelen "
                "past.",
            ),
        ),
    ),
    general=(
        "Een goede voorbereiding is het halve werk.",
        "Neem de tijd om je opties rustig te vergelijken.",
        "Wat voor de een werkt, is voor de ander niet altijd de beste keuze.",
        "Het helpt om je doelen concreet en meetbaar te maken.",
        "Kleine, consequente stappen leveren op termijn vaak het meeste op.",
        "Twijfel je, vraag dan een tweede mening aan iemand met ervaring.",
        "Door regelmatig terug te kijken, zie je sneller wat beter kan.",
        "Het is verstandig om niet alles tegelijk te willen aanpakken.",
        "Betrouwbare informatie is daarbij onmisbaar.",
        "Schrijf je belangrijkste keuzes op, zodat je ze later kunt onderbouwen.",
        "Een realistische planning voorkomt stress en teleurstelling.",
        "Vaak zit de winst in details die anderen over het hoofd zien.",
        "Blijf kritisch op beloftes die te mooi lijken om waar te zijn.",
        "Met geduld en aandacht kom je uiteindelijk het verst.",
        "Het is slim om af en toe te kijken hoe anderen het aanpakken.",
        "Zorg dat je weet waar je hulp vindt als je vastloopt.",
        "Een duidelijke volgorde in je aanpak maakt het geheel overzichtelijker.",
        "Houd rekening met je eigen situatie in plaats van een standaardoplossing "
        "te kiezen.",
        "Wie goed luistert naar de ervaringen van anderen, voorkomt veel fouten.",
        "Het resultaat wordt beter naarmate je er bewuster mee omgaat.",
        "Je hoeft niet alles in één keer perfect te doen.",
        "Kijk na een tijdje of je aanpak nog bij je doelen past.",
        "Ook een kleine verbetering is de moeite waard.",
        "Zo bouw je stap voor stap aan een stevige basis.",
        "Een frisse blik van buitenaf levert vaak nieuwe ideeën op.",
        "Begin met wat het meeste oplevert en bewaar de details voor later.",
        "Wie zijn verwachtingen helder heeft, wordt minder snel verrast.",
        "Goede afspraken voorkomen misverstanden achteraf.",
        "Test een nieuwe aanpak eerst op kleine schaal.",
        "Vergeet niet om ook te kijken naar wat al goed gaat.",
        "Een overzichtelijke checklist houdt je op koers.",
        "Neem beslissingen liever op basis van feiten dan op gevoel alleen.",
        "Bij {k} levert een heldere aanpak meer op dan haast.",
        "Hoe beter je {k} begrijpt, hoe gerichter je keuzes worden.",
        "Veel vragen over {k} blijken in de praktijk eenvoudiger dan gedacht.",
        "Met een beetje ervaring wordt {k} steeds vanzelfsprekender.",
    ),
    openers=(
        "Goed om te weten:",
        "Een tip:",
        "Let wel:",
        "In de praktijk geldt:",
        "Onthoud vooral dit:",
    ),
    faq_heading="Veelgestelde vragen over {k}",
    faq=(
        Topic(
            "Hoe lang duurt het voordat {k} resultaat oplevert?",
            (
                "Dat verschilt per situatie, maar de eerste resultaten zijn vaak "
                "binnen enkele weken zichtbaar.",
                "Wie geduldig en consequent blijft, ziet die resultaten meestal "
                "groeien.",
            ),
        ),
        Topic(
            "Wat kost {k} gemiddeld?",
            (
                "De kosten lopen sterk uiteen en hangen af van je wensen en aanpak.",
                "Vergelijk daarom altijd een paar opties voordat je beslist.",
            ),
        ),
        Topic(
            "Kan ik {k} zelf aanpakken?",
            (
                "In veel gevallen wel, zeker als je goed voorbereid begint.",
                "Voor ingewikkeldere onderdelen kan het verstandig zijn een "
                "specialist in te schakelen.",
            ),
        ),
        Topic(
            "Wat is de grootste fout bij {k}?",
            (
                "De grootste fout is beginnen zonder duidelijk doel of plan.",
                "Leg vooraf even vast wat je wilt bereiken.",
            ),
        ),
        Topic(
            "Waar vind ik betrouwbare informatie over {k}?",
            (
                "Kijk naar bronnen met aantoonbare ervaring en vergelijk meerdere "
                "meningen.",
                "Ervaringen van anderen zijn waardevol, maar toets ze altijd aan je "
                "eigen situatie.",
            ),
        ),
    ),
    conclusion=Topic(
        "Conclusie",
        (
            "{K} hoeft niet ingewikkeld te zijn als je het stap voor stap aanpakt.",
            "Begin met een duidelijk doel, verzamel de juiste informatie en maak "
            "bewuste keuzes.",
            "Vermijd de bekende valkuilen en evalueer je aanpak af en toe.",
        ),
        closing="Zo haal je het meeste uit {k}, nu en in de toekomst.",
    ),
)

ENGLISH = Phrases(
    note=(
        "> **Offline draft — written without a language model.** This text was "
        "assembled from fixed templates: rewrite it or switch on a language model "
        "for a real article."
    ),
    progress="section {i} of {n}",
    titles=(
        "{K}: everything you need to know",
        "{K}: the complete guide",
        "{K} explained: tips and pitfalls",
        "Getting started with {k}: a practical guide",
    ),
    metas=(
        "Learn all about {k}: what it is, what to watch for and how to start well. "
        "With practical tips and answers to common questions.",
        "Find out how to approach {k} the right way. Clear explanations, practical "
        "tips and answers to the questions everyone asks.",
    ),
    intro=Topic(
        "",
        (
            "Anyone who looks into {k} soon finds plenty of information, but not "
            "all of it is equally useful.",
            "This article sets out the key points about {k} clearly.",
            "You will read what {k} involves, what to watch for and how to approach "
            "it in practice.",
            "Whether you are just starting or already have some experience, the "
            "right approach helps you get more out of {k}.",
        ),
        closing="At the end you will find answers to the questions people ask "
        "most often.",
    ),
    topics=(
        Topic(
            "What exactly is {k}?",
            (
                "{K} sounds simple to many people, but there is more to it than "
                "meets the eye.",
                "At its core, it is a subject where knowledge, preparation and a few "
                "good decisions make the difference.",
                "Once you understand the basics, you can make far more focused "
                "choices later on.",
                "It pays to think first about what {k} means for your own situation.",
            ),
        ),
        Topic(
            "Why {k} matters",
            (
                "A well-considered approach to {k} often delivers more than you "
                "expect.",
                "It saves time, prevents unnecessary costs and gives you more "
                "control over the outcome.",
                "Small improvements in this area also tend to add up over time.",
                "That is why it is worth giving it deliberate attention.",
            ),
        ),
        Topic(
            "The main benefits of {k}",
            (
                "The biggest benefit of {k} is that a manageable effort brings "
                "visible results.",
                "You also get a clearer picture of what works and what does not.",
                "Many people find it gives them peace of mind, because they know "
                "where they stand.",
                "Those benefits grow the more consistently you work at it.",
            ),
        ),
        Topic(
            "How to get started with {k}",
            (
                "Start with a clear goal: what do you want {k} to achieve, and when "
                "will you be satisfied?",
                "Then make a simple plan with a few achievable steps.",
                "Gather the information you need before making any big decisions.",
                "Starting small lets you learn quickly and adjust along the way.",
            ),
        ),
        Topic(
            "Common mistakes with {k}",
            (
                "A common mistake is wanting to move too fast and skipping the "
                "preparation.",
                "Underestimating the time it takes is another frequent problem.",
                "Advice from others is also sometimes followed blindly, without "
                "checking whether it fits your situation.",
                "Once you know these pitfalls, a little attention is enough to avoid "
                "them.",
            ),
        ),
        Topic(
            "Practical tips for {k}",
            (
                "Keep track of what you do, so you can later see which choices "
                "worked best.",
                "Ask for advice from people who already have experience with {k}.",
                "Set regular moments to review your approach and adjust it where "
                "needed.",
                "Above all, stay realistic about what you can achieve in a short time.",
            ),
        ),
        Topic(
            "What to look for when choosing",
            (
                "With {k} you often have several options, and not every option "
                "suits everyone.",
                "Consider your budget, the time you have available and your own "
                "experience.",
                "Compare a few alternatives side by side before you decide.",
                "A choice that fits your situation usually beats the most popular one.",
            ),
        ),
        Topic(
            "Costs and time investment",
            (
                "What {k} costs depends heavily on your wishes and on how you go "
                "about it.",
                "Count not only the money but also the time you put in.",
                "A small investment in good preparation often prevents larger "
                "expenses later.",
                "List the expected costs and benefits so you can make an informed "
                "trade-off.",
            ),
        ),
        Topic(
            "{K} step by step",
            (
                "A step-by-step approach makes {k} clear and manageable.",
                "Start with the basics, build on what works and finish with a review.",
                "After each step, it is wise to look back briefly before moving on.",
                "That way you keep an overview and do not miss important details.",
            ),
        ),
        Topic(
            "{K} in practice",
            (
                "In practice, {k} rarely goes exactly according to plan.",
                "Unexpected situations are part of it, so flexibility is an "
                "important quality.",
                "Those who are open to adjusting course get the most out of their "
                "efforts.",
                "Other people's experiences can help you make the right choices "
                "sooner.",
            ),
        ),
        Topic(
            "Tools that make {k} easier",
            (
                "Plenty of tools make {k} a lot easier.",
                "Think of checklists, handy apps or a simple overview on paper.",
                "The point is not to use everything, but to choose what fits the "
                "way you work.",
                "A good tool saves time and makes sure you do not forget anything.",
            ),
        ),
        Topic(
            "Trends and developments around {k}",
            (
                "Developments around {k} do not stand still either.",
                "New insights and methods keep making good results easier to achieve.",
                "It pays to stay informed without jumping on every new trend "
                "straight away.",
                "Focus on what demonstrably works and what fits your own goals.",
            ),
        ),
    ),
    general=(
        "Good preparation is half the work.",
        "Take the time to compare your options calmly.",
        "What works for one person is not always the best choice for another.",
        "It helps to make your goals concrete and measurable.",
        "Small, consistent steps often pay off most in the long run.",
        "If in doubt, ask someone with experience for a second opinion.",
        "Looking back regularly shows you sooner what could be better.",
        "It is wise not to tackle everything at once.",
        "Reliable information is indispensable here.",
        "Write down your main decisions so you can explain them later.",
        "A realistic schedule prevents stress and disappointment.",
        "The gains are often in details that others overlook.",
        "Stay critical of promises that seem too good to be true.",
        "With patience and attention you will get furthest in the end.",
        "It is smart to look at how others approach it from time to time.",
        "Make sure you know where to find help if you get stuck.",
        "A clear order in your approach makes the whole easier to follow.",
        "Consider your own situation instead of picking a standard solution.",
        "Listening to the experience of others prevents many mistakes.",
        "The result improves the more deliberately you work at it.",
        "You do not have to do everything perfectly in one go.",
        "After a while, check whether your approach still fits your goals.",
        "Even a small improvement is worth the effort.",
        "Step by step, you build a solid foundation.",
        "A fresh look from outside often brings new ideas.",
        "Start with what pays off most and leave the details for later.",
        "If your expectations are clear, you are less likely to be surprised.",
        "Clear agreements prevent misunderstandings afterwards.",
        "Try a new approach on a small scale first.",
        "Do not forget to look at what is already going well.",
        "A clear checklist keeps you on course.",
        "Base your decisions on facts rather than on gut feeling alone.",
        "With {k}, a clear approach delivers more than haste.",
        "The better you understand {k}, the more focused your choices become.",
        "Many questions about {k} turn out simpler in practice than expected.",
        "With a little experience, {k} becomes second nature.",
    ),
    openers=(
        "Good to know:",
        "A tip:",
        "Keep in mind:",
        "In practice:",
        "Remember this:",
    ),
    faq_heading="Frequently asked questions about {k}",
    faq=(
        Topic(
            "How long does it take before {k} shows results?",
            (
                "That varies by situation, but the first results are often visible "
                "within a few weeks.",
                "If you stay patient and consistent, those results usually grow.",
            ),
        ),
        Topic(
            "What does {k} cost on average?",
            (
                "Costs vary widely and depend on your wishes and approach.",
                "So always compare a few options before you decide.",
            ),
        ),
        Topic(
            "Can I handle {k} myself?",
            (
                "In many cases you can, especially if you start well prepared.",
                "For more complex parts, it can be wise to call in a specialist.",
            ),
        ),
        Topic(
            "What is the biggest mistake with {k}?",
            (
                "The biggest mistake is starting without a clear goal or plan.",
                "Take a moment beforehand to write down what you want to achieve.",
            ),
        ),
        Topic(
            "Where can I find reliable information about {k}?",
            (
                "Look for sources with proven experience and compare several opinions.",
                "Other people's experiences are valuable, but always test them "
                "against your own situation.",
            ),
        ),
    ),
    conclusion=Topic(
        "Conclusion",
        (
            "{K} does not have to be complicated if you take it one step at a time.",
            "Start with a clear goal, gather reliable information and make "
            "deliberate choices.",
            "Avoid the familiar pitfalls and review your approach now and then.",
        ),
        closing="That way you get the most out of {k}, now and in the future.",
    ),
)
