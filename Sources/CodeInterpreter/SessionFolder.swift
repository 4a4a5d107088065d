import FoundationEssentials
import Glibc
import RunsDomain

/// The files of a session folder, to tell which a call created or changed. Symbolic links and
/// anything but regular files are never followed or reported: a link the code made to a host
/// file must not turn that file into an output.
public struct SessionFolder: Sendable {
    let path: String

    struct Entry: Equatable {
        var size: Int
        var modified: Int
    }

    /// At most this many entries are looked at; a folder holding more is not walked further.
    static let maxEntries = 10_000

    /// Relative path → size and modification time, the figures folder left out.
    func snapshot() -> [String: Entry] {
        var found: [String: Entry] = [:]
        var pending = [""]
        var seen = 0
        while let relative = pending.popLast(), seen < Self.maxEntries {
            let directory = relative.isEmpty ? path : path + "/" + relative
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in names.sorted() where seen < Self.maxEntries {
                seen += 1
                if relative.isEmpty, name == PythonDriver.figuresFolder { continue }
                let child = relative.isEmpty ? name : relative + "/" + name
                var info = stat()
                guard lstat(path + "/" + child, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR: pending.append(child)
                case S_IFREG: found[child] = Entry(size: Int(info.st_size), modified: Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec))
                default: break
                }
            }
        }
        return found
    }

    /// Files new or changed since `before`, sorted.
    static func changed(from before: [String: Entry], to after: [String: Entry]) -> [String] {
        after.filter { before[$0.key] != $0.value }.map(\.key).sorted()
    }

    /// Opens a file of the folder for reading without following links; nil when it is not a
    /// regular file. The caller reads it in pieces, whatever its size.
    func open(_ relative: String) -> OpenFile? {
        let fd = Glibc.open(path + "/" + relative, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            return nil
        }
        return OpenFile(descriptor: fd)
    }

    /// A name an input file may take in the folder: its last path component, without control
    /// characters or a leading dot.
    public static func safeName(_ name: String) -> String {
        var base = (name.split(separator: "/").last.map(String.init) ?? "").filter { !$0.isNewline && $0.asciiValue.map { $0 >= 32 && $0 != 127 } ?? true }
        while base.hasPrefix(".") { base.removeFirst() }
        return base.isEmpty ? "file" : String(base.prefix(200))
    }
}
