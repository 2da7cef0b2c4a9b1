/// Random container names in Docker's `adjective_surname` shape, for containers created
/// without `--name`. The surnames are of scientists and engineers.
public enum NameGenerator {
    static let adjectives = [
        "admiring", "affectionate", "agitated", "amazing", "angry", "awesome", "beautiful", "blissful", "bold",
        "brave", "busy", "charming", "clever", "compassionate", "competent", "confident", "cool", "cranky", "crazy",
        "dazzling", "determined", "distracted", "dreamy", "eager", "ecstatic", "elastic", "elated", "elegant",
        "eloquent", "epic", "exciting", "fervent", "festive", "flamboyant", "focused", "friendly", "frosty", "funny",
        "gallant", "gifted", "goofy", "gracious", "great", "happy", "hardcore", "heuristic", "hopeful", "hungry",
        "infallible", "inspiring", "intelligent", "interesting", "jolly", "jovial", "keen", "kind", "laughing",
        "loving", "lucid", "magical", "modest", "musing", "mystifying", "naughty", "nervous", "nice", "nifty",
        "nostalgic", "objective", "optimistic", "peaceful", "pedantic", "pensive", "practical", "priceless", "quirky",
        "quizzical", "relaxed", "reverent", "romantic", "sad", "serene", "sharp", "silly", "sleepy", "stoic",
        "strange", "stupefied", "suspicious", "sweet", "tender", "thirsty", "trusting", "unruffled", "upbeat",
        "vibrant", "vigilant", "vigorous", "wizardly", "wonderful", "xenodochial", "youthful", "zealous", "zen",
    ]

    static let surnames = [
        "agnesi", "albattani", "allen", "almeida", "archimedes", "ardinghelli", "babbage", "banach", "bardeen",
        "bartik", "bassi", "bell", "benz", "bhabha", "bohr", "booth", "borg", "bose", "boyd", "brahmagupta",
        "brattain", "brown", "carson", "cartwright", "chandrasekhar", "chatelet", "chebyshev", "clarke", "colden",
        "cori", "curie", "darwin", "davinci", "dijkstra", "dirac", "einstein", "elion", "engelbart", "euclid",
        "euler", "faraday", "fermat", "fermi", "feynman", "franklin", "galileo", "gates", "gauss", "germain",
        "goldberg", "goodall", "hamilton", "hawking", "heisenberg", "hermann", "hodgkin", "hofstadter", "hopper",
        "hugle", "hypatia", "jackson", "jemison", "jennings", "johnson", "joliot", "kalam", "kepler", "khorana",
        "knuth", "kowalevski", "lalande", "lamarr", "leakey", "leavitt", "lovelace", "lumiere", "mayer", "mccarthy",
        "mcclintock", "meitner", "mendel", "merkle", "mirzakhani", "montalcini", "morse", "napier", "nash",
        "newton", "nobel", "noether", "northcutt", "noyce", "pascal", "pasteur", "payne", "perlman", "pike",
        "poincare", "ptolemy", "raman", "ramanujan", "ride", "ritchie", "rosalind", "saha", "sammet", "shannon",
        "shockley", "sinoussi", "snyder", "spence", "stonebraker", "swanson", "tesla", "thompson", "torvalds",
        "turing", "varahamihira", "villani", "volhard", "wescoff", "wiles", "williams", "wilson", "wing", "wozniak",
        "wright", "yalow", "yonath",
    ]

    /// A random name; `attempt` above 0 appends a digit, as Docker does when a name is taken.
    public static func name(attempt: Int = 0) -> String {
        var generator = SystemRandomNumberGenerator()
        while true {
            let adjective = adjectives.randomElement(using: &generator) ?? "brave"
            let surname = surnames.randomElement(using: &generator) ?? "turing"
            let name = adjective + "_" + surname
            // Steve Wozniak is not boring; Docker keeps this one out too.
            if name == "boring_wozniak" { continue }
            return attempt > 0 ? name + String(Int.random(in: 0...9, using: &generator)) : name
        }
    }

    /// Whether `name` is a valid container name: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, as Docker requires.
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.count >= 2, bytes.count <= 255 else { return false }
        func alphanumeric(_ byte: UInt8) -> Bool {
            (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
        }
        guard alphanumeric(bytes[0]) else { return false }
        return bytes.dropFirst().allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }
}
