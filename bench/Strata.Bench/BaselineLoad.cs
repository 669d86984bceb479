using System.Diagnostics;
using System.Globalization;
using System.Text;
using Strata.Algorithms.Monitor;

/// <summary>
/// Model Monitor baseline analysis (what the analyzer image runs: read the CSV, statistics with a
/// KLL sketch per numeric feature, statistics.json and constraints.json) against its floor in the
/// same run, only reading the same CSV into records. Rows of 10 columns: 4 integers, 4 fractions,
/// 2 strings of 5 and 1 000 distinct values. Not a BenchmarkDotNet class:
///   dotnet run -c Release --project bench/Strata.Bench -- baseline [rows] [repeats]
/// </summary>
public static class BaselineLoad
{
    public static void Run(int rows, int repeats)
    {
        var dir = Directory.CreateTempSubdirectory("strata-bench-baseline-").FullName;
        try
        {
            var file = Path.Combine(dir, "train.csv");
            Write(file, rows);
            var format = new DatasetFormat(Csv: true, Header: true, Lines: false);
            Console.WriteLine($"baseline analysis of {rows} rows x 10 columns ({new FileInfo(file).Length / 1e6:0.0} MB CSV), {Environment.ProcessorCount} cores");
            double bestParse = double.MaxValue, bestAnalyze = double.MaxValue;
            for (var r = 0; r < repeats; r++)
            {
                var parse = Time(() =>
                {
                    long n = 0;
                    foreach (var record in DatasetReader.Read([file], format, f => f)) n += record.Count;
                    if (n != rows * 10L) throw new InvalidOperationException($"read {n} fields");
                });
                var analyze = Time(() =>
                {
                    var statistics = DatasetStatistics.Compute(DatasetReader.Read([file], format, f => f));
                    if (statistics.ItemCount != rows) throw new InvalidOperationException($"analysed {statistics.ItemCount} rows");
                    _ = MonitorReport.Statistics(statistics);
                    _ = MonitorReport.Constraints(statistics);
                });
                Console.WriteLine($"  round {r + 1}: parse only {rows / parse:N0} rows/s, analysis {rows / analyze:N0} rows/s ({analyze / parse:0.00}x the parse time)");
                bestParse = Math.Min(bestParse, parse);
                bestAnalyze = Math.Min(bestAnalyze, analyze);
            }
            Console.WriteLine($"best: parse only {rows / bestParse:N0} rows/s, analysis {rows / bestAnalyze:N0} rows/s; analysis/parse throughput {bestParse / bestAnalyze:0.00}");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    static double Time(Action action)
    {
        var start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    static void Write(string file, int rows)
    {
        var random = new Random(18);
        string[] states = ["CA", "WA", "NY", "TX", "OR"];
        using var w = new StreamWriter(file, false, new UTF8Encoding(false), 1 << 16);
        w.WriteLine("i1,i2,i3,i4,f1,f2,f3,f4,state,city");
        var line = new StringBuilder();
        for (var i = 0; i < rows; i++)
        {
            line.Clear();
            for (var c = 0; c < 4; c++) line.Append(random.Next(-1000, 100_000).ToString(CultureInfo.InvariantCulture)).Append(',');
            for (var c = 0; c < 4; c++) line.Append((random.NextDouble() * 1000 - 100).ToString("0.#####", CultureInfo.InvariantCulture)).Append(',');
            line.Append(states[random.Next(states.Length)]).Append(',').Append("city-").Append(random.Next(1000).ToString(CultureInfo.InvariantCulture));
            w.WriteLine(line);
        }
    }
}
