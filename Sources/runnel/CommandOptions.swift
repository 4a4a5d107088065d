import Glibc

/// The options of `runnel backup` and `runnel restore`: `--name VALUE` or `--name=VALUE`, bare
/// flags, and `--help`. A bad option ends the process with the reason.
struct CommandOptions {
    private(set) var values: [String: String] = [:]
    private(set) var flags: Set<String> = []

    init(_ arguments: [String], command: String, valued: Set<String>, flags known: Set<String> = [], help: String) {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            let name = parts[0]
            if valued.contains(name) {
                if parts.count > 1 {
                    values[name] = parts[1]
                } else {
                    index += 1
                    guard index < arguments.count else { ServeCommand.fail("\(name) needs a value") }
                    values[name] = arguments[index]
                }
            } else if known.contains(name) {
                flags.insert(name)
            } else if name == "-h" || name == "--help" {
                print(help)
                exit(0)
            } else {
                ServeCommand.fail("unknown option \(argument) (see runnel \(command) --help)")
            }
            index += 1
        }
    }
}
