import Testing
@testable import HTTPServer

private typealias Machine = ConnectionStateMachine
private typealias Actions = ConnectionStateMachine.Actions
private typealias Interest = ConnectionStateMachine.Interest

private let read = Interest(read: true)
private let readWrite = Interest(read: true, write: true)
private let hangUp = Interest(hangUp: true)
private let nothing = Interest()
private let writeOnly = Interest(write: true)

/// One row: a connection brought into a situation by `given`, then `event`, and what must follow.
struct ConnectionCase: CustomTestStringConvertible, Sendable {
    let name: String
    let given: [ConnectionStateMachine.Event]
    let event: ConnectionStateMachine.Event
    let expected: ConnectionStateMachine.Actions
    let phase: ConnectionStateMachine.Phase

    var testDescription: String { name }
}

// Times are in arbitrary units: a head must arrive within 10, a connection may idle for 75;
// a lingering close reads for at most 50, or until the client is quiet for 20.
private let timeouts = Machine.Timeouts(headNanoseconds: 10, idleNanoseconds: 75, lingerNanoseconds: 50, lingerIdleNanoseconds: 20)
private let idle: [Machine.Event] = [.started(now: 100)]
private let readingHead = idle + [.received(now: 110), .awaitingInput(.head, now: 110)]
private let readingBody = idle + [.received(now: 110), .awaitingInput(.body, now: 110)]
private let handling = idle + [.received(now: 110), .requestDispatched(keepAlive: true)]
private let handlingLastRequest = idle + [.received(now: 110), .requestDispatched(keepAlive: false)]
private let streaming = handling + [.streamStarted(keepAlive: true)]
private let blocked = idle + [.outputBlocked(progressAt: 150)]
private let uploading = handling + [.bodyStreamOpened]
private let awaitingPiece = uploading + [.bodyDemanded(now: 150)]
private let answeredEarly = uploading + [.responseQueued(now: 200)]
private let lingering = answeredEarly + [.outputFlushed(progressAt: 201)]

private let cases: [ConnectionCase] = [
    ConnectionCase(name: "a new connection reads, with the idle deadline", given: [], event: .started(now: 100),
                   expected: Actions(interest: read, timer: 175, idleSince: .some(100)), phase: .reading),
    ConnectionCase(name: "bytes alone change nothing", given: idle, event: .received(now: 110),
                   expected: Actions(), phase: .reading),
    ConnectionCase(name: "a partial head starts the head deadline and ends idleness", given: idle + [.received(now: 110)],
                   event: .awaitingInput(.head, now: 110), expected: Actions(timer: 120, idleSince: .some(nil)), phase: .reading),
    ConnectionCase(name: "a head that misses its deadline gets 408", given: readingHead, event: .timerFired(now: 125),
                   expected: Actions(interest: nothing, requestTimeout: true), phase: .reading),
    ConnectionCase(name: "a timer that fires early re-arms for the deadline", given: readingHead, event: .timerFired(now: 115),
                   expected: Actions(timer: 120), phase: .reading),
    ConnectionCase(name: "once the head is in, the body has the idle deadline", given: readingHead,
                   event: .awaitingInput(.body, now: 112), expected: Actions(), phase: .reading),
    ConnectionCase(name: "a stalled body is cut off", given: readingBody, event: .timerFired(now: 200),
                   expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "an idle keep-alive connection is closed after the idle timeout", given: idle,
                   event: .timerFired(now: 180), expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "dispatching keeps the read interest registered (lazy pause)", given: idle + [.received(now: 110)],
                   event: .requestDispatched(keepAlive: true), expected: Actions(idleSince: .some(nil)), phase: .handling),
    ConnectionCase(name: "bytes sent ahead of the answer stop reading; hang-ups are still watched", given: handling,
                   event: .inputWhilePaused, expected: Actions(interest: hangUp), phase: .handling),
    ConnectionCase(name: "a client that half-closes still gets its answer", given: handling, event: .hangUp,
                   expected: Actions(interest: nothing), phase: .handling),
    ConnectionCase(name: "an answer goes back to reading and decodes what is buffered", given: handling,
                   event: .responseQueued(now: 200), expected: Actions(processInput: true, idleSince: .some(200)), phase: .reading),
    ConnectionCase(name: "reading resumes after a pause", given: handling + [.inputWhilePaused], event: .responseQueued(now: 200),
                   expected: Actions(interest: read, processInput: true, idleSince: .some(200)), phase: .reading),
    ConnectionCase(name: "the last answer stops reading", given: handlingLastRequest, event: .responseQueued(now: 200),
                   expected: Actions(interest: nothing), phase: .reading),
    ConnectionCase(name: "the last answer closes once it is sent", given: handlingLastRequest + [.responseQueued(now: 200)],
                   event: .outputFlushed(progressAt: 201), expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "a stream starts", given: handling, event: .streamStarted(keepAlive: true),
                   expected: Actions(), phase: .streaming),
    ConnectionCase(name: "a client leaving a stream closes it", given: streaming, event: .hangUp,
                   expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "a stream's reader that falls too far behind is dropped", given: streaming, event: .outputOverLimit,
                   expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "a stream that stalls its reader is cut off", given: streaming + [.outputBlocked(progressAt: 150)],
                   event: .timerFired(now: 230), expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "a finished stream goes back to reading", given: streaming, event: .streamFinished(now: 300),
                   expected: Actions(processInput: true, idleSince: .some(300)), phase: .reading),
    ConnectionCase(name: "an HTTP/1.0 stream ends the connection", given: handling + [.streamStarted(keepAlive: false)],
                   event: .streamFinished(now: 300), expected: Actions(interest: nothing), phase: .reading),
    ConnectionCase(name: "output that cannot be sent arms the write interest", given: idle, event: .outputBlocked(progressAt: 150),
                   expected: Actions(interest: readWrite, idleSince: .some(nil)), phase: .reading),
    ConnectionCase(name: "output flushed disarms it", given: blocked, event: .outputFlushed(progressAt: 160),
                   expected: Actions(interest: read, idleSince: .some(160)), phase: .reading),
    ConnectionCase(name: "answers piling up unread stop reading", given: blocked, event: .outputOverLimit,
                   expected: Actions(interest: writeOnly), phase: .reading),
    ConnectionCase(name: "reading resumes once they are sent", given: blocked + [.outputOverLimit],
                   event: .outputFlushed(progressAt: 170), expected: Actions(interest: read, processInput: true, idleSince: .some(170)),
                   phase: .reading),
    ConnectionCase(name: "end of input between requests closes", given: idle, event: .endOfInput(now: 120),
                   expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "end of input inside a request closes", given: readingHead, event: .endOfInput(now: 120),
                   expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "end of input with an answer still going out closes after it", given: blocked,
                   event: .endOfInput(now: 160), expected: Actions(interest: writeOnly), phase: .reading),
    ConnectionCase(name: "shutdown closes an idle connection at once", given: idle, event: .shutdown,
                   expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "shutdown lets a request finish", given: handling, event: .shutdown,
                   expected: Actions(), phase: .handling),
    ConnectionCase(name: "after shutdown the answer is the last one", given: handling + [.shutdown], event: .responseQueued(now: 200),
                   expected: Actions(interest: nothing), phase: .reading),
    ConnectionCase(name: "shutdown lets a body finish arriving", given: readingBody, event: .shutdown,
                   expected: Actions(), phase: .reading),
    ConnectionCase(name: "after shutdown an empty buffer ends reading", given: readingBody + [.shutdown],
                   event: .awaitingInput(.none, now: 130), expected: Actions(interest: nothing), phase: .reading),
    ConnectionCase(name: "eviction closes an idle connection", given: idle, event: .evict,
                   expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "eviction spares a busy connection", given: handling, event: .evict,
                   expected: Actions(), phase: .handling),
    ConnectionCase(name: "eviction spares a connection receiving a request", given: readingHead, event: .evict,
                   expected: Actions(), phase: .reading),
    ConnectionCase(name: "a protocol error stops reading until the answer is out", given: idle, event: .protocolError,
                   expected: Actions(interest: nothing, idleSince: .some(nil)), phase: .reading),
    ConnectionCase(name: "a socket failure closes", given: streaming, event: .failed,
                   expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "an answer for no request is ignored", given: idle, event: .responseQueued(now: 120),
                   expected: Actions(), phase: .reading),
    ConnectionCase(name: "a closed connection ignores everything", given: idle + [.failed], event: .started(now: 200),
                   expected: Actions(), phase: .closed),
    ConnectionCase(name: "a streamed body is not read until its handler asks", given: handling, event: .bodyStreamOpened,
                   expected: Actions(interest: hangUp), phase: .handling),
    ConnectionCase(name: "a handler asking for a piece reads the socket", given: uploading, event: .bodyDemanded(now: 150),
                   expected: Actions(interest: read), phase: .handling),
    ConnectionCase(name: "a piece handed over pauses reading again", given: awaitingPiece, event: .bodyDemandMet,
                   expected: Actions(interest: hangUp), phase: .handling),
    ConnectionCase(name: "an upload that stalls while its handler waits is cut off", given: awaitingPiece, event: .timerFired(now: 230),
                   expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "an upload cut short by the client cannot complete", given: awaitingPiece, event: .endOfInput(now: 160),
                   expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "an answer before the body's end closes the connection after it", given: uploading,
                   event: .responseQueued(now: 200), expected: Actions(interest: nothing), phase: .reading),
    ConnectionCase(name: "an answer after the body's end keeps the connection", given: uploading + [.bodyStreamEnded],
                   event: .responseQueued(now: 200), expected: Actions(interest: read, processInput: true, idleSince: .some(200)),
                   phase: .reading),
    // The idle timer armed earlier (175) fires first and re-arms for the lingering deadline.
    ConnectionCase(name: "an answer sent before the body's end lingers: write side shut, the rest read",
                   given: answeredEarly, event: .outputFlushed(progressAt: 201),
                   expected: Actions(interest: read, shutdownWrite: true), phase: .lingering),
    ConnectionCase(name: "a protocol error's answer lingers too", given: readingBody + [.protocolError],
                   event: .outputFlushed(progressAt: 130), expected: Actions(interest: read, timer: 150, shutdownWrite: true),
                   phase: .lingering),
    ConnectionCase(name: "a client that already sent its end is not lingered on", given: answeredEarly + [.outputBlocked(progressAt: 201), .hangUp, .endOfInput(now: 202)],
                   event: .outputFlushed(progressAt: 203), expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "lingering ends when the client closes", given: lingering, event: .endOfInput(now: 210),
                   expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "bytes while lingering change nothing", given: lingering, event: .received(now: 215),
                   expected: Actions(), phase: .lingering),
    ConnectionCase(name: "a client still sending keeps a lingering close going", given: lingering + [.received(now: 215)],
                   event: .timerFired(now: 221), expected: Actions(timer: 235), phase: .lingering),
    ConnectionCase(name: "a quiet client ends the lingering", given: lingering, event: .timerFired(now: 221),
                   expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "lingering is bounded however fast the client sends", given: lingering + [.received(now: 240), .received(now: 250)],
                   event: .timerFired(now: 251), expected: Actions(close: true), phase: .closed),
    ConnectionCase(name: "shutdown ends the lingering", given: lingering, event: .shutdown,
                   expected: Actions(close: true), phase: .closed),
]

@Suite struct ConnectionStateMachineTests {
    @Test(arguments: cases)
    func transition(_ row: ConnectionCase) {
        var machine = Machine(timeouts: timeouts)
        for event in row.given { _ = machine.handle(event) }
        let actions = machine.handle(row.event)
        #expect(actions == row.expected)
        #expect(machine.phase == row.phase)
    }

    /// A whole keep-alive exchange costs no epoll_ctl call and no timer call.
    @Test func aKeepAliveRequestNeedsNoInterestOrTimerChange() {
        var machine = Machine(timeouts: timeouts)
        _ = machine.handle(.started(now: 0))
        for step in 1...100 {
            let now = Int64(step * 10)
            var actions = [machine.handle(.received(now: now)), machine.handle(.requestDispatched(keepAlive: true))]
            actions += [machine.handle(.responseQueued(now: now + 1)), machine.handle(.outputFlushed(progressAt: now + 1))]
            actions.append(machine.handle(.awaitingInput(.none, now: now + 1)))
            #expect(actions.allSatisfy { $0.interest == nil && $0.timer == nil && !$0.close })
        }
    }
}
