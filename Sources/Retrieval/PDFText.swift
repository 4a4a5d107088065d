import Dispatch
import FoundationEssentials

/// Text of a PDF by poppler's `pdftotext`, run on a temporary copy with a time limit: a hostile
/// PDF can make it spin, never make the server wait for ever.
enum PDFText {
    struct Failure: Error {
        var code: String
        var message: String
    }

    /// Converts `pdf` to a text file next to it and returns that file's path.
    static func convert(pdf: URL, timeoutSeconds: Double) throws -> URL {
        let output = pdf.deletingPathExtension().appendingPathExtension("txt")
        let outcome: ChildProcess.Outcome
        do {
            outcome = try ChildProcess.run([executable(), "-q", "-enc", "UTF-8", pdf.path, output.path], timeoutSeconds: timeoutSeconds)
        } catch {
            throw Failure(code: "server_error", message: "PDF files need poppler's pdftotext, which this server could not start: \(error)")
        }
        switch outcome {
        case .timedOut:
            throw Failure(code: "invalid_file", message: "Reading the PDF's text took longer than \(Int(timeoutSeconds)) s; it was stopped.")
        case .exited(let status) where status != 0:
            throw Failure(code: "invalid_file", message: "The file is not a readable PDF (pdftotext exited with status \(status)).")
        case .exited:
            break
        }
        return output
    }

    /// `pdftotext` on the PATH, or where Debian installs it.
    static func executable() -> String {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") + ["/usr/bin"] {
            let path = "\(directory)/pdftotext"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "/usr/bin/pdftotext"
    }
}
