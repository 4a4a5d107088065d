import FoundationEssentials

/// The command line that starts one session: this binary's `sandbox-exec` mode, then for level A
/// bubblewrap, then Python running the driver. A pure function of its inputs, so the exact
/// confinement can be read (and tested) without starting anything.
struct SandboxLaunch {
    let level: SandboxLevel
    let programs: SandboxPrograms
    let limits: SandboxLimits
    /// The session folder on the host, `/mnt/data` inside a level A sandbox.
    let folder: String
    /// The session's private temporary folder on the host (level B; level A has a tmpfs).
    let tmp: String
    /// The ids taken instead of root, when the server runs as root.
    let ids: (uid: UInt32, gid: UInt32)?
    /// The process limit: the session's own allowance, plus what the server's user already runs
    /// when it is not root (the kernel counts processes per user).
    let processes: Int

    /// Inside a level A sandbox the folder is always here; level B has no mount namespace and
    /// keeps the folder's own path.
    static let mountPoint = "/mnt/data"

    var dataPath: String { level == .bubblewrap ? Self.mountPoint : folder }

    /// The Python installation: a venv's root (with `pyvenv.cfg`) must be readable too.
    var pythonRoot: String? {
        let root = URL(fileURLWithPath: programs.python).deletingLastPathComponent().deletingLastPathComponent().path
        if root == "/usr" || root.hasPrefix("/usr/") { return nil }
        return FileManager.default.fileExists(atPath: root + "/pyvenv.cfg") ? root : nil
    }

    var environment: [String] {
        let home = level == .bubblewrap ? "/tmp" : tmp
        return [
            "HOME=\(home)", "TMPDIR=\(home)", "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
            "MPLBACKEND=Agg", "MPLCONFIGDIR=\(home)/matplotlib",
            // One thread per numerical library: sessions share the machine's cores.
            "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1",
            "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1",
        ]
    }

    var arguments: [String] {
        var helper = [programs.helper, "sandbox-exec", "--level", level.rawValue]
        if let ids { helper += ["--uid", String(ids.uid), "--gid", String(ids.gid)] }
        helper += ["--memory", String(limits.memoryBytes), "--file-size", String(limits.folderBytes),
                   "--open-files", String(limits.openFiles), "--processes", String(processes),
                   "--cpu-seconds", String(limits.cpuSeconds)]
        let python = [programs.python, "-I", "-c", PythonDriver.script(logLimit: limits.logBytes)]
        switch level {
        case .selfConfined:
            for path in ["/usr", "/etc", "/bin", "/lib", "/lib64", "/sbin", "/dev/urandom", "/dev/zero", "/proc/self"] + [pythonRoot].compactMap({ $0 }) {
                helper += ["--read-only", path]
            }
            for path in [folder, tmp, "/dev/null"] { helper += ["--read-write", path] }
            for variable in environment { helper += ["--env", variable] }
            return helper + ["--"] + python
        case .bubblewrap:
            var bwrap = [programs.bubblewrap ?? "bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
                         "--ro-bind", "/usr", "/usr"]
            for link in ["bin", "sbin", "lib", "lib64"] {
                let path = "/" + link
                if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                    bwrap += ["--symlink", target, path]
                } else if FileManager.default.fileExists(atPath: path) {
                    bwrap += ["--ro-bind", path, path]
                }
            }
            // A minimal /etc: the loader's cache and the time zone, none of the host's accounts or secrets.
            bwrap += ["--dir", "/etc"]
            for file in ["/etc/ld.so.cache", "/etc/localtime", "/etc/mime.types"] where FileManager.default.fileExists(atPath: file) {
                bwrap += ["--ro-bind", file, file]
            }
            if let root = pythonRoot { bwrap += ["--ro-bind", root, root] }
            bwrap += ["--proc", "/proc", "--dev", "/dev", "--size", String(limits.tmpBytes), "--tmpfs", "/tmp",
                      "--bind", folder, Self.mountPoint, "--chdir", Self.mountPoint,
                      // bubblewrap builds the root (and /dev) on tmpfs: read-only, or code could fill memory there.
                      "--remount-ro", "/dev", "--remount-ro", "/"]
            for variable in environment {
                let (name, value) = variable.split(separator: "=", maxSplits: 1).map(String.init).pair
                bwrap += ["--setenv", name, value]
            }
            return helper + ["--"] + bwrap + ["--"] + python
        }
    }
}

/// Where a level A sandbox mounts its folder, for code that maps paths.
public enum SandboxLaunchPaths {
    public static let mountPoint = SandboxLaunch.mountPoint
}

private extension Array where Element == String {
    var pair: (String, String) { (self[0], count > 1 ? self[1] : "") }
}
