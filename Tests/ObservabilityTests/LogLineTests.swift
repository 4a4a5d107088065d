import FoundationEssentials
import Logging
import Testing
@testable import Observability

struct LogLineTests {
    let time = Date(timeIntervalSince1970: 1_800_000_000.25)

    @Test func textLinesQuoteValuesThatWouldSplitAPair() {
        let line = LogLine.render(.text, time: time, level: .info, label: "runnel", message: "request",
                                  metadata: ["route": "/v1/threads", "note": "two words", "empty": ""])
        #expect(line == "2027-01-15T08:00:00.250Z info request empty=\"\" note=\"two words\" route=/v1/threads\n")
    }

    @Test func jsonLinesAreOneObjectWhoseFixedFieldsMetadataCannotReplace() throws {
        let line = LogLine.render(.json, time: time, level: .warning, label: "runnel", message: "say \"hi\"",
                                  metadata: ["status": .stringConvertible(200), "ms": .stringConvertible(0.5), "message": "spoofed",
                                             "nested": ["a": ["1", "2"]]])
        #expect(line.hasSuffix("}\n") && !line.dropLast().contains("\n"))
        #expect(line == #"{"time":"2027-01-15T08:00:00.250Z","level":"warning","logger":"runnel","message":"say \"hi\"","ms":0.5,"nested":{"a":["1","2"]},"status":200}"# + "\n")
    }
}

struct MetricCatalogueTests {
    @Test func helpPrecedesTheTypeOfEveryKnownFamilyOnly() {
        let exposition = """
            # TYPE runnel_runs_created_total counter
            runnel_runs_created_total 3
            # TYPE something_else gauge
            something_else 1

            """
        let lines = MetricCatalogue.withHelp(exposition).split(separator: "\n")
        #expect(lines == [
            "# HELP runnel_runs_created_total Runs created on this node.",
            "# TYPE runnel_runs_created_total counter",
            "runnel_runs_created_total 3",
            "# TYPE something_else gauge",
            "something_else 1",
        ])
    }

    @Test func everyNamedMetricHasHelp() {
        let names = [MetricCatalogue.httpRequests, MetricCatalogue.httpRequestDuration, MetricCatalogue.connectionsOpen,
                     MetricCatalogue.streamsOpen, MetricCatalogue.runsCreated, MetricCatalogue.runsFinished,
                     MetricCatalogue.runsExecuting, MetricCatalogue.runsQueued, MetricCatalogue.runDuration,
                     MetricCatalogue.timeToFirstToken, MetricCatalogue.modelCalls, MetricCatalogue.modelCallDuration,
                     MetricCatalogue.modelTokens, MetricCatalogue.databaseDuration, MetricCatalogue.leasesHeld]
        #expect(Set(names).count == names.count)
        #expect(Set(names) == Set(MetricCatalogue.help.keys))
    }
}
