import CSandbox
import FoundationEssentials
import Glibc
import RunsDomain

/// `runnel sandbox-exec`: the helper mode a session is started through. It confines itself
/// (a new session, rlimits, root dropped, no new privileges, and for level B Landlock and
/// seccomp) and then executes the program, which cannot undo any of it. For level A the program
/// is bubblewrap, handed the seccomp filter on a descriptor.
///
///     runnel sandbox-exec --level a|b [--uid N --gid N] [--memory B] [--file-size B] [--open-files N]
///         [--processes N] [--cpu-seconds N] [--read-only PATH]... [--read-write PATH]... [--env K=V]...
///         -- PROGRAM ARGS...
public enum SandboxExec {
    struct Request {
        var level = SandboxLevel.bubblewrap
        var ids: (uid: UInt32, gid: UInt32)?
        var limits: [String: UInt64] = [:]
        var readOnly: [String] = []
        var readWrite: [String] = []
        var environment: [String] = []
        var program: [String] = []
    }

    static let limitFlags = ["--memory", "--file-size", "--open-files", "--processes", "--cpu-seconds"]

    static func parse(_ arguments: [String]) throws -> Request {
        var request = Request()
        var uid: UInt32?, gid: UInt32?
        var index = 0
        func value() throws -> String {
            index += 1
            guard index < arguments.count else { throw SandboxError("\(arguments[index - 1]) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            let flag = arguments[index]
            switch flag {
            case "--":
                request.program = Array(arguments[(index + 1)...])
                index = arguments.count
                continue
            case "--level":
                let text = try value()
                guard let level = SandboxLevel(rawValue: text) else { throw SandboxError("--level is a or b, not \(text)") }
                request.level = level
            case "--uid": uid = UInt32(try value())
            case "--gid": gid = UInt32(try value())
            case "--read-only": request.readOnly.append(try value())
            case "--read-write": request.readWrite.append(try value())
            case "--env": request.environment.append(try value())
            case _ where limitFlags.contains(flag):
                let text = try value()
                guard let number = UInt64(text) else { throw SandboxError("\(flag) takes a number, not \(text)") }
                request.limits[flag] = number
            default:
                throw SandboxError("unknown option \(flag)")
            }
            index += 1
        }
        if let uid, let gid { request.ids = (uid, gid) }
        guard !request.program.isEmpty else { throw SandboxError("no program after --") }
        return request
    }

    public static func run(arguments: [String]) -> Never {
        do {
            let request = try parse(arguments)
            try confine(request)
            var program = request.program
            if request.level == .bubblewrap {
                program.insert(contentsOf: ["--seccomp", String(try exportFilter())], at: 1)
            }
            execute(program, environment: request.environment)
        } catch {
            StandardError.write("runnel sandbox-exec: \(error)\n")
            exit(126)
        }
    }

    private static func confine(_ request: Request) throws {
        let readOnly = request.readOnly.map { strdup($0) }
        let readWrite = request.readWrite.map { strdup($0) }
        defer { (readOnly + readWrite).forEach { free($0) } }
        var error = [CChar](repeating: 0, count: 512)
        let status = readOnly.map { UnsafePointer($0) }.withUnsafeBufferPointer { readOnlyPaths in
            readWrite.map { UnsafePointer($0) }.withUnsafeBufferPointer { readWritePaths in
                var confinement = runnel_confinement()
                if let ids = request.ids, getuid() == 0 {
                    confinement.drop_privileges = 1
                    confinement.uid = ids.uid
                    confinement.gid = ids.gid
                }
                confinement.address_space_bytes = request.limits["--memory"] ?? 0
                confinement.file_bytes = request.limits["--file-size"] ?? 0
                confinement.open_files = request.limits["--open-files"] ?? 0
                confinement.processes = request.limits["--processes"] ?? 0
                confinement.cpu_seconds = request.limits["--cpu-seconds"] ?? 0
                confinement.self_confine = request.level == .selfConfined ? 1 : 0
                confinement.read_only_paths = readOnlyPaths.baseAddress
                confinement.read_only_count = Int32(readOnlyPaths.count)
                confinement.read_write_paths = readWritePaths.baseAddress
                confinement.read_write_count = Int32(readWritePaths.count)
                return runnel_confine(&confinement, &error, error.count)
            }
        }
        guard status == 0 else { throw SandboxError(cString: error) }
    }

    /// The filter as a descriptor bubblewrap inherits and reads.
    private static func exportFilter() throws -> Int32 {
        let fd = runnel_memfd("runnel-seccomp")
        guard fd >= 0 else { throw SandboxError("memfd_create failed: \(String(cString: strerror(errno)))") }
        var error = [CChar](repeating: 0, count: 512)
        guard runnel_export_filter(fd, &error, error.count) == 0 else {
            throw SandboxError(cString: error)
        }
        lseek(fd, 0, SEEK_SET)
        return fd
    }

    private static func execute(_ program: [String], environment: [String]) -> Never {
        let arguments = program.map { strdup($0) } + [nil]
        let variables = environment.map { strdup($0) } + [nil]
        execve(program[0], arguments, variables)
        StandardError.write("runnel sandbox-exec: cannot execute \(program[0]): \(String(cString: strerror(errno)))\n")
        exit(127)
    }
}

public struct SandboxError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }

    init(cString: [CChar]) {
        description = String(decoding: cString.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
