"""What the demo people say: post, comment and message texts (written by hand, picked deterministically)."""

from __future__ import annotations

POSTS = [
    "Shipped the first version of my side project tonight. Tiny, a bit rough, but it's live! #buildinpublic",
    "Hot take: the best documentation is a working example you can copy. #docs #devlife",
    "Spent the morning pairing with a junior dev on their first pull request. Best two hours of my week. #mentoring",
    "Anyone else rewriting their notes app for the fifth time instead of writing notes? #productivity",
    "Tried an AI agent for triaging my inbox. It labels well, but I still read everything it archives. #ai",
    "Reminder: your users don't care which framework you used. They care whether it works. #product",
    "Today I learned that PostgreSQL can index JSON keys with a GIN index. Queries went from 2 s to 8 ms. #postgres",
    "Design crit tomorrow. Bringing three options and a strong opinion about the second one. #design",
    "Morning walk, no phone, one idea that fixed yesterday's bug. Works every time. #wellbeing",
    "The hardest part of learning Python wasn't the syntax, it was knowing what to build. Start small! #python",
    "We cut our build time in half by caching one directory. Measure before you optimise. #devops",
    "Reading group this week: 'The Mythical Man-Month'. Still painfully relevant. #books",
    "Coffee count: 3. Bugs fixed: 1. Bugs introduced: probably 2. #devlife",
    "If you're learning data science, get very comfortable with boring CSV files first. #datascience",
    "Our community hit 1,000 members this week. Thank you all for the questions and the kindness. #community",
    "Accessibility isn't a feature you add at the end. It's how you build from the start. #a11y #design",
    "Finally understood how embeddings work by drawing them on paper. Vectors all the way down. #ai #learning",
    "Weekend project: a tiny weather station on a Raspberry Pi that tweets when it rains. #hardware",
    "Writing tests first felt slow for a week. Now it feels slow to write them after. #testing",
    "Open-source tip: a friendly CONTRIBUTING.md gets you more contributors than a fancy logo. #opensource",
    "The best code review comment I ever got: 'What would make this easier to delete later?' #codereview",
    "Prototyped a chatbot that only answers from our FAQ. Refreshingly honest when it doesn't know. #ai",
    "Moved my whole workflow to plain text files. Week one: bliss. #productivity",
    "Mentoring session today on careers in UX research. So many great questions from the group. #mentoring #ux",
    "Sketching interface ideas on paper before opening any tool. Fewer pixels, more thinking. #design",
    "Small wins: my first open-source pull request got merged! #opensource #firstpr",
    "What's one habit that made you a better engineer? Mine: writing down why, not just what. #devlife",
    "Lagos tech meetup was packed tonight. The energy in this ecosystem is unreal. #community",
    "New blog post: how we priced our API in credits so customers never get a surprise bill. #startups",
    "Teaching my kid Scratch. She debugged a loop faster than I would have. #learning",
    "Built a prompt library for our support team. The secret: examples beat instructions. #ai #support",
    "Bangkok street food + late-night coding = surprisingly productive evening. #remotework",
    "Don't underestimate a well-placed loading state. Perceived speed is speed. #ux",
    "Refactored 400 lines into 90. Same behaviour, every test still green. #refactoring",
    "A friendly reminder to back up your database. And then restore it once, to see if it works. #devops",
    "Three years freelancing today. Best decision, hardest decision. AMA in the comments. #freelance",
    "Async Python finally clicked when I stopped thinking of it as threads. #python",
    "Our agent now says 'I don't know' when it doesn't know. Customers trust it more, not less. #ai",
    "Looking for a study buddy for the Kubernetes certification. Anyone? #learning #kubernetes",
    "Good error messages are a love letter to your future users. #ux #devlife",
]

POLLS = [
    ("What do you reach for first when a page is slow?", ["Profiler", "Database logs", "Caching", "Coffee"]),
    ("Tabs or spaces? (Be kind.)", ["Tabs", "Spaces", "Whatever the formatter says"]),
    ("Best time of day for deep work?", ["Early morning", "Afternoon", "Late night"]),
    ("Which topic should our next meetup cover?", ["AI agents", "Design systems", "Career growth", "Testing"]),
    ("How do you take notes?", ["Paper", "Plain text", "A notes app", "I don't"]),
    ("Favourite way to learn something new?", ["Books", "Videos", "Building a project", "A mentor"]),
]

CAPTIONS = [
    "Morning light",
    "Sunday hike",
    "Whiteboard session",
    "Meetup tonight",
    "View from the office",
    "New desk setup",
    "Sketches",
    "Weekend colours",
    "Golden hour",
    "Design mood board",
]

COMMENTS = [
    "Love this! Congrats 🎉",
    "So true.",
    "Could you share more details?",
    "This made my day.",
    "Great point, I'd add: measure first.",
    "Bookmarked for later.",
    "Same experience here!",
    "Thanks for sharing this.",
    "Totally agree.",
    "Interesting, I hadn't thought of it that way.",
    "Can't wait to try this.",
    "This is the way.",
    "Any resources you'd recommend?",
    "Ha, I felt this one.",
    "Well said.",
    "Happy to help if you need a reviewer!",
    "Counting me in.",
    "What stack did you use?",
    "Beautiful!",
    "Saving this thread.",
]

REPLIES = ["Thanks!", "Good question, I'll write it up.", "Exactly!", "Glad it helped 🙂", "Will do!"]

# Conversations: (speaker, text), speaker "me" being the newcomer (demo001) and "them" the other person;
# the newcomer has read up to their own last line, so what "them" says after it is unread.
DIRECT = [
    [
        ("them", "Hey! Loved your post about mentoring."),
        ("me", "Thank you! It was a great session."),
        ("them", "Would you be up for a coffee chat next week?"),
        ("them", "Also, I'm running a study group on Thursdays, join us!"),
    ],
    [
        ("them", "Quick question about your API pricing post"),
        ("me", "Sure, ask away!"),
        ("them", "How did you decide on the credit price per model?"),
    ],
    [
        ("me", "Are you coming to the meetup on Friday?"),
        ("them", "Planning to! Are you presenting?"),
        ("me", "Yes, 10 minutes on design systems. Nervous 😅"),
        ("them", "You'll be great. Saving you a seat!"),
    ],
    [
        ("them", "Thanks for the code review yesterday, it really helped."),
        ("me", "Anytime. Your PR was already in good shape."),
        ("them", "I pushed the changes, could you take another look when you have a minute?"),
    ],
]

GROUP_TITLE = "Weekend hackathon"
GROUP = [
    ("them", "Who's in for the hackathon this weekend?"),
    ("me", "Me! I'll bring snacks."),
    ("them", "Count me in 🙌"),
    ("them", "I made a shared doc with project ideas, have a look"),
    ("them", "Let's pick one by Friday evening"),
]

OTHER_CHATS = [
    ["Did you see the new release notes?", "Yes! The search is so much faster.", "Right? Great work by the team."],
    ["Lunch tomorrow?", "Sure, 12:30 at the usual place?", "Perfect 👍"],
]

GATEWAY_PROMPTS = [
    "Summarize our FAQ about refunds in two sentences.",
    "Suggest three names for a study group.",
    "Draft a friendly welcome message for new community members.",
    "List two tips for writing good error messages.",
    "What is a credit in this platform?",
]
