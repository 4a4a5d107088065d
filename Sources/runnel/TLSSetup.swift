import Dispatch
import Glibc
import HTTPServer
import Logging

/// `--tls-cert` and `--tls-key`: HTTPS on the API port, reread on SIGHUP.
enum TLSSetup {
    /// Nil without a certificate; a start with one file but not the other, or with files
    /// OpenSSL cannot use, fails with the reason.
    static func load(_ configuration: Configuration) -> TLSConfiguration? {
        let certificate = configuration.string("tls_cert"), key = configuration.string("tls_key")
        if certificate.isEmpty && key.isEmpty { return nil }
        guard !certificate.isEmpty, !key.isEmpty else {
            ServeCommand.fail("--tls-cert and --tls-key go together: give both, or neither for plain HTTP")
        }
        do {
            return try TLSConfiguration(certificatePath: certificate, keyPath: key)
        } catch {
            ServeCommand.fail("cannot serve HTTPS with \(certificate) and \(key): \(error)")
        }
    }

    /// SIGHUP rereads the certificate and key (a renewal); new connections use them, open ones
    /// keep theirs. Files that do not load leave the ones in use.
    static func reloadOnHangUp(_ tls: TLSConfiguration, log: Logger) -> any DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global(qos: .utility))
        source.setEventHandler {
            do {
                try tls.reload()
                log.info("TLS certificate and key reloaded", metadata: ["certificate": "\(tls.certificatePath)"])
            } catch {
                log.error("TLS reload failed; the previous certificate stays in use: \(error)")
            }
        }
        source.activate()
        return source
    }
}
