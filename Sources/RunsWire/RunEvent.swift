import RunsDomain

/// One streamed event, typed: what happened to which object. Its SSE name and payload follow
/// from the case, so nothing downstream reads meaning back out of a name.
public struct RunEvent: Sendable {
    public enum Kind: Sendable, Equatable {
        case threadCreated
        case runCreated
        case run(RunStatus)
        case stepCreated
        case step(StepStatus)
        case stepDelta
        case messageCreated
        case message(MessageStatus)
        case messageDelta
    }

    public var kind: Kind
    public var data: JSONValue
    /// For a run event made here from the stored run: the run it shows, so what keeps the latest
    /// state of a run can tell a newer version from an older one.
    public var run: Run?

    public init(_ kind: Kind, _ data: JSONValue) {
        self.kind = kind
        self.data = data
    }

    public static func thread(created thread: ChatThread) -> RunEvent { RunEvent(.threadCreated, thread.wire) }
    public static func run(created run: Run) -> RunEvent { RunEvent(.runCreated, run.wire) }
    public static func run(_ run: Run) -> RunEvent {
        var event = RunEvent(.run(run.status), run.wire)
        event.run = run
        return event
    }
    public static func step(created step: RunStep) -> RunEvent { RunEvent(.stepCreated, step.wire) }
    public static func step(_ step: RunStep) -> RunEvent { RunEvent(.step(step.status), step.wire) }
    public static func message(created message: Message) -> RunEvent { RunEvent(.messageCreated, message.wire) }
    public static func message(_ message: Message) -> RunEvent { RunEvent(.message(message.status), message.wire) }

    /// The SSE `event:` name, as OpenAI names it.
    public var name: String {
        switch kind {
        case .threadCreated: "thread.created"
        case .runCreated: "thread.run.created"
        case .run(let status): "thread.run." + status.rawValue
        case .stepCreated: "thread.run.step.created"
        case .step(let status): "thread.run.step." + status.rawValue
        case .stepDelta: "thread.run.step.delta"
        case .messageCreated: "thread.message.created"
        case .message(let status): "thread.message." + status.rawValue
        case .messageDelta: "thread.message.delta"
        }
    }

    /// The kind a name stands for: only for events that crossed from another node, which
    /// travel by name.
    public init?(name: String, data: JSONValue) {
        let kinds: [Kind] = [.threadCreated, .runCreated, .stepCreated, .stepDelta, .messageCreated, .messageDelta]
            + RunStatus.allCases.map(Kind.run) + StepStatus.allCases.map(Kind.step) + MessageStatus.allCases.map(Kind.message)
        guard let kind = kinds.first(where: { RunEvent($0, .null).name == name }) else { return nil }
        self.init(kind, data)
    }

    /// The status a `thread.run.<status>` event announces; nil for every other event.
    public var runStatus: RunStatus? {
        if case .run(let status) = kind { return status }
        return nil
    }

    /// A run event after which a stream has nothing more to say.
    public var endsStream: Bool { runStatus?.endsPolling ?? false }
}
