/// The program a session runs inside its sandbox, given to Python with `-c`. It reads requests,
/// one JSON object per line, on stdin: `{"code": …}` runs code in the session's one namespace
/// (a last expression is printed, as in a notebook); `{"interrupt": true}` raises
/// KeyboardInterrupt in the code running now. Each answer is one JSON line on the stdout it was
/// started with: `{"logs", "truncated", "error", "interrupted", "figures"}`.
///
/// The code's own stdout and stderr (and those of processes it starts) go to a file in the
/// sandbox's /tmp that is truncated per call and read back up to the log limit, so nothing the
/// code prints can break the protocol or grow without bound. Open matplotlib figures are saved
/// as PNG into `.runnel-figures` in the session folder and closed.
enum PythonDriver {
    static let figuresFolder = ".runnel-figures"

    static func script(logLimit: Int) -> String {
        """
        import ast, io, json, os, signal, sys, threading, traceback, queue
        LIMIT = \(logLimit)
        answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        tmp = os.environ.get("TMPDIR", "/tmp")
        log_path = os.path.join(tmp, ".runnel-log")
        log_fd = os.open(log_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", buffering=0), encoding="utf-8", errors="replace", line_buffering=True)
        sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", buffering=0), encoding="utf-8", errors="replace", line_buffering=True)
        sys.stdin = open(os.devnull)
        # matplotlib's font cache, built with the venv: copied, not rebuilt (seconds) on the first plot.
        try:
            import shutil
            cache, target = os.path.join(sys.prefix, "matplotlib"), os.environ.get("MPLCONFIGDIR")
            if target and os.path.isdir(cache) and not os.path.exists(target):
                shutil.copytree(cache, target)
        except OSError:
            pass
        namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        work = queue.Queue()
        running = threading.Event()

        def listen():
            for line in requests:
                try:
                    request = json.loads(line)
                except ValueError:
                    continue
                if request.get("interrupt"):
                    if running.is_set():
                        os.kill(os.getpid(), signal.SIGINT)
                else:
                    work.put(request)
            work.put(None)

        threading.Thread(target=listen, daemon=True).start()

        def on_interrupt(signum, frame):
            # Between calls an interrupt has nothing to stop.
            if running.is_set():
                raise KeyboardInterrupt

        signal.signal(signal.SIGINT, on_interrupt)

        def run(code):
            tree = ast.parse(code, "<code>", "exec")
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, "<code>", "exec"), namespace)
            if last is not None:
                value = eval(compile(last, "<code>", "eval"), namespace)
                if value is not None:
                    print(repr(value))

        def figures(number):
            plt = sys.modules.get("matplotlib.pyplot")
            if plt is None:
                return []
            folder = os.path.join(os.getcwd(), "\(figuresFolder)")
            saved = []
            for index, figure_number in enumerate(plt.get_fignums()):
                os.makedirs(folder, exist_ok=True)
                path = os.path.join(folder, "call%d-figure%d.png" % (number, index))
                try:
                    plt.figure(figure_number).savefig(path, format="png")
                    saved.append(path)
                except Exception:
                    traceback.print_exc()
            plt.close("all")
            return saved

        def logs():
            sys.stdout.flush()
            sys.stderr.flush()
            size = os.lseek(log_fd, 0, os.SEEK_END)
            os.lseek(log_fd, 0, os.SEEK_SET)
            data = os.read(log_fd, LIMIT)
            return data.decode("utf-8", "replace"), size > LIMIT

        number = 0
        while True:
            request = work.get()
            if request is None:
                break
            number += 1
            os.ftruncate(log_fd, 0)
            os.lseek(log_fd, 0, os.SEEK_SET)
            error = None
            interrupted = False
            try:
                running.set()
                try:
                    run(request.get("code", ""))
                finally:
                    running.clear()
            except KeyboardInterrupt:
                interrupted = True
                traceback.print_exc()
            except SystemExit as exit:
                error = "SystemExit: %s" % (exit.code,)
            except BaseException as failure:
                error = "".join(traceback.format_exception_only(type(failure), failure)).strip()
                traceback.print_exc()
            try:
                saved = figures(number)
            except BaseException:
                saved = []
            text, truncated = logs()
            answers.write(json.dumps({"logs": text, "truncated": truncated, "error": error,
                                      "interrupted": interrupted, "figures": saved}) + "\\n")
        """
    }
}
