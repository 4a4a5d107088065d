import Foundation
import Testing
@testable import CodeInterpreter

struct SandboxLaunchTests {
    static let programs = SandboxPrograms(python: "/usr/bin/python3", helper: "/usr/local/bin/runnel", bubblewrap: "/usr/bin/bwrap")

    static func launch(_ level: SandboxLevel, root: Bool = true) -> SandboxLaunch {
        SandboxLaunch(level: level, programs: programs, limits: SandboxLimits(), folder: "/var/lib/runnel/s1/data",
                      tmp: "/var/lib/runnel/s1/tmp", ids: root ? (2_100_003, 2_100_003) : nil, processes: 64)
    }

    /// The options that follow `flag`, in order.
    static func values(of flag: String, in arguments: [String]) -> [String] {
        arguments.indices.filter { arguments[$0] == flag && $0 + 1 < arguments.count }.map { arguments[$0 + 1] }
    }

    @Test func levelAUnsharesEverythingAndSeesOnlyUsrAndItsFolder() {
        let arguments = Self.launch(.bubblewrap).arguments
        #expect(Array(arguments.prefix(4)) == ["/usr/local/bin/runnel", "sandbox-exec", "--level", "a"])
        #expect(Self.values(of: "--uid", in: arguments) == ["2100003"])
        let bwrap = Array(arguments.drop { $0 != "/usr/bin/bwrap" })
        for flag in ["--unshare-all", "--die-with-parent", "--new-session", "--clearenv"] { #expect(bwrap.contains(flag)) }
        #expect(Self.values(of: "--bind", in: bwrap) == ["/var/lib/runnel/s1/data"])
        #expect(Self.values(of: "--ro-bind", in: bwrap).allSatisfy { $0 == "/usr" || $0.hasPrefix("/etc/") || $0.hasPrefix("/lib") || $0 == "/bin" || $0 == "/sbin" })
        #expect(!Self.values(of: "--ro-bind", in: bwrap).contains("/etc/shadow"))
        #expect(Self.values(of: "--remount-ro", in: bwrap) == ["/dev", "/"])
        #expect(Self.values(of: "--size", in: bwrap) == [String(64 << 20)])
        #expect(Self.launch(.bubblewrap).dataPath == "/mnt/data")
    }

    @Test func levelBConfinesItselfToUsrEtcAndTheSession() {
        let launch = Self.launch(.selfConfined, root: false)
        let arguments = launch.arguments
        #expect(Self.values(of: "--uid", in: arguments).isEmpty)
        #expect(Self.values(of: "--read-write", in: arguments) == ["/var/lib/runnel/s1/data", "/var/lib/runnel/s1/tmp", "/dev/null"])
        #expect(Self.values(of: "--read-only", in: arguments).contains("/usr"))
        #expect(!Self.values(of: "--read-only", in: arguments).contains("/"))
        #expect(Self.values(of: "--env", in: arguments).contains("TMPDIR=/var/lib/runnel/s1/tmp"))
        #expect(Self.values(of: "--memory", in: arguments) == [String(1 << 30)])
        #expect(launch.dataPath == "/var/lib/runnel/s1/data")
        #expect(!arguments.contains("/usr/bin/bwrap"))
    }

    @Test func theHelperReadsWhatTheLaunchWrites() throws {
        let arguments = Self.launch(.selfConfined).arguments
        let request = try SandboxExec.parse(Array(arguments.dropFirst(2)))
        #expect(request.level == .selfConfined)
        #expect(request.ids?.uid == 2_100_003)
        #expect(request.limits["--processes"] == 64)
        #expect(request.program.first == "/usr/bin/python3")
        #expect(throws: SandboxError.self) { try SandboxExec.parse(["--level", "c", "--", "x"]) }
        #expect(throws: SandboxError.self) { try SandboxExec.parse(["--memory", "lots", "--", "x"]) }
        #expect(throws: SandboxError.self) { try SandboxExec.parse(["--level", "a"]) }
    }

    @Test func inputNamesStayInTheFolder() {
        #expect(SessionFolder.safeName("../../etc/passwd") == "passwd")
        #expect(SessionFolder.safeName(".bashrc") == "bashrc")
        #expect(SessionFolder.safeName("a\nb.csv") == "ab.csv")
        #expect(SessionFolder.safeName("..") == "file")
    }

    @Test func changedFilesAreNewOrDifferent() {
        let before = ["a.csv": SessionFolder.Entry(size: 1, modified: 1), "b.csv": SessionFolder.Entry(size: 2, modified: 2)]
        let after = ["a.csv": SessionFolder.Entry(size: 1, modified: 1), "b.csv": SessionFolder.Entry(size: 3, modified: 5),
                     "c/d.png": SessionFolder.Entry(size: 9, modified: 9)]
        #expect(SessionFolder.changed(from: before, to: after) == ["b.csv", "c/d.png"])
    }
}
