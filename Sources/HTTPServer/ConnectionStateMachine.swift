/// The life of one connection as a pure function of what happened to it: events in (with the
/// time, in monotonic nanoseconds), actions out. `HTTPConnection` does the I/O and performs the
/// actions; every decision about reading, timing out and closing is made here, so it can be
/// tested as a table without sockets or clocks.
///
/// Reading happens only while the connection waits for a request: while a handler holds one or a
/// response streams, only a hang-up is watched for (as swift-nio's pipelining handler does), so a
/// client cannot make the server buffer what it sends ahead of its answer. The one exception is a
/// streamed request body, read while its handler asks for the next piece.
///
/// An answer that ends the connection while the client may still be sending (before its body
/// ended, or after a protocol error) is followed by a lingering close, as nginx and Apache do:
/// the write side is shut, and what still arrives is read and dropped for a bounded time. Closing
/// with unread bytes in the kernel would send a reset, which can destroy the answer before the
/// client (or a proxy in front) reads it.
struct ConnectionStateMachine: Equatable {
    enum Phase: Equatable {
        /// Waiting for, or receiving, a request.
        case reading
        /// A handler holds the request.
        case handling
        /// A chunked response body is being written.
        case streaming
        /// The last answer is out and the write side shut; what the client still sends is dropped.
        case lingering
        case closed
    }

    /// What the decoder holds of the next request.
    enum Input: Equatable {
        case none
        case head
        case body
    }

    /// The socket events to watch.
    struct Interest: Equatable {
        /// Readable data (and a peer's end of stream).
        var read = false
        /// Only the peer's end of stream, while reading is paused.
        var hangUp = false
        /// Room to send.
        var write = false
    }

    struct Timeouts: Equatable {
        /// From the first byte of a request head to its end.
        var headNanoseconds: Int64
        /// Without progress: an idle keep-alive connection, a stalled body, a reader that stopped reading.
        var idleNanoseconds: Int64
        /// The longest a lingering close reads, from the last answer's end.
        var lingerNanoseconds: Int64 = 5_000_000_000
        /// A lingering close ends sooner when the client sends nothing for this long.
        var lingerIdleNanoseconds: Int64 = 1_000_000_000
    }

    /// What the connection must do after an event. Only what changed is set.
    struct Actions: Equatable {
        var interest: Interest?
        /// Move the timer earlier, to this time.
        var timer: Int64?
        /// Decode what is already buffered: reading resumed with bytes in hand.
        var processInput = false
        /// Answer 408 (the head did not arrive in time), then close.
        var requestTimeout = false
        /// Shut the sending side: the answer is complete, what the client still sends is dropped.
        var shutdownWrite = false
        var close = false
        /// The connection became idle (with the time it did) or busy, for eviction at the limit.
        var idleSince: Int64??
    }

    enum Event: Equatable {
        case started(now: Int64)
        /// Bytes arrived.
        case received(now: Int64)
        /// The decoder needs more bytes; it holds this much of the next request.
        case awaitingInput(Input, now: Int64)
        /// `recv` returned 0: the client sends nothing more.
        case endOfInput(now: Int64)
        /// The client shut its side while reading was paused.
        case hangUp
        /// Bytes arrived while reading was paused; they stay in the kernel until the answer is out.
        case inputWhilePaused
        /// The socket failed (a send or receive error, or both directions gone).
        case failed
        case requestDispatched(keepAlive: Bool)
        case responseQueued(now: Int64)
        case streamStarted(keepAlive: Bool)
        case streamFinished(now: Int64)
        /// The socket cannot take more; bytes wait. `progressAt` is set when some were sent.
        case outputBlocked(progressAt: Int64?)
        /// Everything queued was sent. `progressAt` is set when some bytes were sent.
        case outputFlushed(progressAt: Int64?)
        /// More unsent output than allowed is waiting.
        case outputOverLimit
        /// An HTTP-level error answer was queued; nothing more can be read from this client.
        case protocolError
        case timerFired(now: Int64)
        case shutdown
        /// The server is at its connection limit and picked this connection to make room.
        case evict
        /// The request just dispatched has a body its handler reads piece by piece.
        case bodyStreamOpened
        /// The handler asked for the next piece of its body and none is buffered: read the socket.
        case bodyDemanded(now: Int64)
        /// A piece (or the end) was handed to the handler; reading pauses until it asks again.
        case bodyDemandMet
        /// The streamed body was read to its end.
        case bodyStreamEnded
    }

    let timeouts: Timeouts
    private(set) var phase = Phase.reading
    private(set) var input = Input.none
    /// Whether the exchange in progress leaves the connection open.
    private(set) var keepAlive = true
    private(set) var closeAfterFlush = false
    private(set) var endOfInputSeen = false
    private(set) var hangUpSeen = false
    private(set) var inputWhilePausedSeen = false
    private(set) var outputPending = false
    /// Pipelined answers are piling up unread: stop reading until they are sent.
    private(set) var outputBackedUp = false
    private(set) var shuttingDown = false
    private(set) var headStartedAt: Int64?
    private(set) var lastProgress: Int64 = 0
    private(set) var interest = Interest()
    private(set) var timerArmedFor: Int64?
    private(set) var isIdle = false
    /// A handler holds a request whose body is not read to its end yet.
    private(set) var bodyStreaming = false
    /// That handler waits for the next piece of its body.
    private(set) var bodyDemand = false
    /// The client may still be sending when the connection ends: close it lingering.
    private(set) var lingers = false
    private(set) var lingerStartedAt: Int64 = 0

    init(timeouts: Timeouts) {
        self.timeouts = timeouts
    }

    var isClosed: Bool { phase == .closed }

    /// Whether bytes from the client are read now: while it is waiting for a request, or while a
    /// handler waits for more of a streamed body.
    var readsInput: Bool {
        if phase == .lingering { return !endOfInputSeen }
        return (phase == .reading || (phase == .handling && bodyDemand)) && !endOfInputSeen && !closeAfterFlush && !outputBackedUp
    }

    /// Whether a decoded request may be handed to the handler now.
    var acceptsRequests: Bool { phase == .reading && !closeAfterFlush && !outputBackedUp }

    /// Whether the answer being written may leave the connection open.
    /// An answer sent before its streamed body was read ends the connection: the rest of the body
    /// cannot be told apart from the next request without reading it all.
    var keepsConnection: Bool { keepAlive && !shuttingDown && !endOfInputSeen && !closeAfterFlush && !bodyStreaming }

    /// When the connection is cut off if nothing happens, given what it waits for.
    var deadline: Int64? {
        if phase == .lingering {
            return min(lingerStartedAt + timeouts.lingerNanoseconds, lastProgress + timeouts.lingerIdleNanoseconds)
        }
        if outputPending || (phase == .handling && bodyDemand) { return lastProgress + timeouts.idleNanoseconds }
        guard phase == .reading, !closeAfterFlush else { return nil }
        if input == .head, let headStartedAt { return headStartedAt + timeouts.headNanoseconds }
        return lastProgress + timeouts.idleNanoseconds
    }

    mutating func handle(_ event: Event) -> Actions {
        guard phase != .closed else { return Actions() }
        if phase == .lingering { return linger(event) }
        var actions = Actions()
        switch event {
        case .started(let now):
            lastProgress = now
        case .received(let now):
            lastProgress = now
        case .awaitingInput(let held, let now):
            input = held
            if held == .head {
                if headStartedAt == nil { headStartedAt = now }
            } else {
                headStartedAt = nil
            }
            if shuttingDown, held == .none { closeAfterFlush = true }
        case .endOfInput:
            endOfInputSeen = true
            switch phase {
            case .handling:
                // A streamed body cut short can never complete.
                if bodyStreaming { return close() }
                // Half-closed: the answer is still written, then the connection ends.
            case .reading:
                // A partial request can never complete; a finished answer can still be delivered.
                if input != .none || !outputPending { return close() }
                closeAfterFlush = true
            case .streaming, .lingering, .closed:
                return close()
            }
        case .hangUp:
            switch phase {
            case .streaming:
                return close()
            case .handling:
                // The answer can still be written; what the client sent before leaving is read after it.
                hangUpSeen = true
            case .reading, .lingering, .closed:
                break
            }
        case .inputWhilePaused:
            inputWhilePausedSeen = true
        case .failed:
            return close()
        case .requestDispatched(let keep):
            phase = .handling
            keepAlive = keep && !shuttingDown
            input = .none
            headStartedAt = nil
            hangUpSeen = false
            inputWhilePausedSeen = false
            bodyStreaming = false
            bodyDemand = false
        case .responseQueued(let now):
            guard phase == .handling else { return Actions() }
            actions.processInput = finishExchange(at: now)
        case .streamStarted(let keep):
            guard phase == .handling else { return Actions() }
            keepAlive = keepAlive && keep && !bodyStreaming
            bodyDemand = false
            phase = .streaming
        case .streamFinished(let now):
            guard phase == .streaming else { return Actions() }
            actions.processInput = finishExchange(at: now)
        case .outputBlocked(let progressAt):
            if let progressAt { lastProgress = progressAt }
            outputPending = true
        case .outputFlushed(let progressAt):
            if let progressAt { lastProgress = progressAt }
            outputPending = false
            if closeAfterFlush { return lingers && !endOfInputSeen ? startLingering() : close() }
            if outputBackedUp {
                outputBackedUp = false
                actions.processInput = phase == .reading
            }
        case .outputOverLimit:
            // A stream's reader that fell this far behind is dropped; the run carries on without it.
            if phase == .streaming { return close() }
            outputBackedUp = true
        case .protocolError:
            closeAfterFlush = true
            // The request may still be arriving (a body over the limit, a broken chunk).
            lingers = true
            input = .none
            headStartedAt = nil
        case .timerFired(let now):
            timerArmedFor = nil
            guard let deadline else { break }
            if deadline > now { break }
            if phase == .reading, input == .head, !outputPending {
                closeAfterFlush = true
                input = .none
                actions.requestTimeout = true
            } else {
                return close()
            }
        case .shutdown:
            shuttingDown = true
            if phase == .reading, input == .none {
                if !outputPending { return close() }
                closeAfterFlush = true
            }
        case .evict:
            if isIdle { return close() }
        case .bodyStreamOpened:
            bodyStreaming = phase == .handling
        case .bodyDemanded(let now):
            guard phase == .handling, bodyStreaming else { break }
            if !bodyDemand { lastProgress = now }
            bodyDemand = true
        case .bodyDemandMet:
            bodyDemand = false
        case .bodyStreamEnded:
            bodyStreaming = false
            bodyDemand = false
        }
        settle(into: &actions)
        return actions
    }

    /// The answer is queued: back to reading, unless it was the last. Returns whether buffered
    /// input (a pipelined request) should be decoded now.
    private mutating func finishExchange(at now: Int64) -> Bool {
        if !keepsConnection { closeAfterFlush = true }
        if bodyStreaming { lingers = true }
        bodyDemand = false
        phase = .reading
        lastProgress = now
        return !closeAfterFlush
    }

    /// The answer is out: shut the write side and read what is still coming until the client
    /// closes too, goes quiet, or the time is up.
    private mutating func startLingering() -> Actions {
        phase = .lingering
        lingerStartedAt = lastProgress
        var actions = Actions(shutdownWrite: true)
        settle(into: &actions)
        return actions
    }

    private mutating func linger(_ event: Event) -> Actions {
        switch event {
        case .received(let now):
            lastProgress = now
            return Actions()
        case .timerFired(let now):
            timerArmedFor = nil
            if let deadline, deadline > now {
                var actions = Actions()
                settle(into: &actions)
                return actions
            }
            return close()
        case .endOfInput, .hangUp, .failed, .shutdown, .evict:
            return close()
        default:
            return Actions()
        }
    }

    private mutating func close() -> Actions {
        phase = .closed
        interest = Interest()
        timerArmedFor = nil
        isIdle = false
        return Actions(close: true)
    }

    /// Works out what to watch, when to wake and whether the connection is idle, reporting changes.
    private mutating func settle(into actions: inout Actions) {
        let waiting = (phase == .handling || phase == .streaming) && !hangUpSeen && !readsInput
        var wanted = Interest(read: readsInput, hangUp: waiting, write: outputPending)
        // Pausing lazily: a registered read interest stays while nothing arrives, which saves two
        // epoll_ctl calls per request; the first byte sent ahead of the answer narrows it to hang-ups.
        if waiting, interest.read, !inputWhilePausedSeen, !bodyStreaming {
            wanted.read = true
            wanted.hangUp = false
        }
        if wanted != interest {
            interest = wanted
            actions.interest = wanted
        }
        // The timer only moves earlier; one that fires early re-arms for the current deadline,
        // so the common case (a later deadline) costs no timer call.
        if let deadline, timerArmedFor.map({ deadline < $0 }) ?? true {
            timerArmedFor = deadline
            actions.timer = deadline
        }
        let idle = phase == .reading && input == .none && !outputPending && !closeAfterFlush && !endOfInputSeen
        if idle != isIdle {
            isIdle = idle
            actions.idleSince = .some(idle ? lastProgress : nil)
        }
    }
}
