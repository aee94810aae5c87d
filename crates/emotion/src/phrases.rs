//! The word lists of the lexical cues, written for callers of a service hotline.

/// Words that turn the sentiment of the next few words around.
pub const NEGATIONS: &[&str] = &[
    "not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "nowhere", "without",
    "cannot", "cant", "dont", "doesnt", "didnt", "wont", "isnt", "arent", "wasnt", "havent",
    "hasnt", "hadnt", "couldnt", "shouldnt", "wouldnt", "aint",
];

/// Words that make the next word stronger.
pub const INTENSIFIERS: &[&str] = &[
    "very",
    "really",
    "so",
    "extremely",
    "absolutely",
    "totally",
    "completely",
    "incredibly",
    "utterly",
    "seriously",
    "truly",
    "terribly",
    "awfully",
    "super",
    "such",
    "most",
];

/// Words that make the next word weaker.
pub const DOWNTONERS: &[&str] = &[
    "slightly", "somewhat", "bit", "little", "kinda", "sorta", "barely", "fairly", "mildly",
];

/// Words a sentiment lexicon scores that are plain task vocabulary on a service line:
/// "I need help", "cancel my order", "no" to a yes/no question, "I have a problem with my
/// order" say nothing about the caller's mood.
pub const TASK_WORDS: &[&str] = &[
    "help",
    "helps",
    "helped",
    "helping",
    "please",
    "cancel",
    "cancelled",
    "canceled",
    "cancelling",
    "canceling",
    "cancellation",
    "charge",
    "charged",
    "charges",
    "fee",
    "fees",
    "no",
    "yes",
    "ok",
    "okay",
    "like",
    "want",
    "wanted",
    "need",
    "problem",
    "problems",
    "issue",
    "issues",
    "error",
    "errors",
    "question",
    "questions",
    "refund",
    "refunds",
    "claim",
    "claims",
    "pay",
    "payment",
    "payments",
    "account",
    "delete",
    "deleted",
    "remove",
    "lost",
    "password",
    "sure",
    "fine",
    "thank",
    "thanks",
    "hello",
    "hi",
    "free",
    "save",
    "credit",
];

/// Swearing, as the recognizer writes it (a word with `*` in it counts too: that is how it
/// writes a word it censored).
pub const PROFANITY: &[&str] = &[
    "damn",
    "damned",
    "dammit",
    "damnit",
    "goddamn",
    "goddamned",
    "goddam",
    "bloody",
    "crap",
    "crappy",
    "shit",
    "shitty",
    "bullshit",
    "fuck",
    "fucks",
    "fucking",
    "fuckin",
    "fucked",
    "fucker",
    "motherfucker",
    "motherfucking",
    "ass",
    "asshole",
    "arse",
    "arsehole",
    "bastard",
    "bastards",
    "bitch",
    "piss",
    "pissed",
    "hell",
    "bollocks",
    "wtf",
];

/// Words that on their own ask for a person.
pub const HUMAN_WORDS: &[&str] = &[
    "agent",
    "agents",
    "human",
    "humans",
    "operator",
    "representative",
    "rep",
    "supervisor",
    "manager",
    "receptionist",
    "advisor",
    "adviser",
    "attendant",
];

/// Words that ask for a person after "talk to", "speak with", or after "real", "live".
pub const PERSON_WORDS: &[&str] = &[
    "person", "people", "someone", "somebody", "anyone", "anybody",
];

/// Verbs of being put through, before a [`PERSON_WORDS`] word.
pub const CONNECT_VERBS: &[&str] = &[
    "talk", "speak", "transfer", "connect", "put", "get", "reach", "need", "want",
];

/// Adjectives that make a [`PERSON_WORDS`] word a request for a human.
pub const REAL_WORDS: &[&str] = &["real", "live", "actual", "human"];

/// Function words left out when comparing two requests.
pub const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "the", "i", "me", "my", "mine", "we", "us", "our", "you", "your", "it", "its",
    "it's", "is", "are", "was", "were", "be", "been", "am", "im", "i'm", "to", "of", "in", "on",
    "at", "for", "with", "and", "or", "but", "so", "this", "that", "these", "those", "there",
    "here", "what", "which", "who", "how", "when", "where", "why", "can", "could", "would",
    "should", "will", "do", "does", "did", "have", "has", "had", "please", "just", "like", "want",
    "need", "get", "got", "i'd", "id", "i've", "ive", "yes", "no", "yeah", "okay", "ok", "um",
    "uh", "hello", "hi", "hey", "thanks", "thank", "also", "about", "from", "up", "out", "now",
    "then", "than", "too", "very", "really", "some", "any", "help", "know", "tell", "said", "say",
    "again", "one", "oh", "well", "let", "let's", "go", "if", "as", "all", "not",
];

/// Whether `word` is a negation (also the contracted forms: "don't", "isn't").
pub fn is_negation(word: &str) -> bool {
    word.ends_with("n't") || NEGATIONS.contains(&word)
}
