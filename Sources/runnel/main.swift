import CodeInterpreter
import FoundationEssentials
import Glibc
import HTTPServer
import RunsAPI
import RunsDomain
import RunsStorage

/// `runnel serve|backup|restore|health [options]`, or `runnel --help`.
let commandLine = Array(CommandLine.arguments.dropFirst())
switch commandLine.first {
case "serve":
    ServeCommand.run(arguments: Array(commandLine.dropFirst()))
case "backup":
    BackupCommand.run(arguments: Array(commandLine.dropFirst()))
case "restore":
    RestoreCommand.run(arguments: Array(commandLine.dropFirst()))
case "health":
    HealthCommand.run(arguments: Array(commandLine.dropFirst()))
case "code-run":
    CodeRunCommand.run(arguments: Array(commandLine.dropFirst()))
case "sandbox-exec":
    SandboxExec.run(arguments: Array(commandLine.dropFirst()))
case "--help", "-h", "help", nil:
    print("""
        Usage: runnel <command> [options]

        Commands:
          serve     Run the server (runnel serve --help lists its settings).
          backup    Copy a database consistently, even while the server runs.
          restore   Put a backup in a database's place (never under a running server).
          health    Exit 0 if the server (same settings as serve) answers GET /health.
          code-run  Run Python in a code interpreter sandbox, as runs do (code-run --level a|b|auto CODE...).
        """)
    exit(commandLine.isEmpty ? 2 : 0)
default:
    StandardError.write("runnel: unknown command '\(commandLine[0])' (try runnel --help)\n")
    exit(2)
}
