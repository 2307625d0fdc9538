// bench/queue.sh's Hangfire peer. Usage: HangfirePeer CONNECTION_STRING JOBS WORKERS
// Queues JOBS no-op jobs, then starts one BackgroundJobServer with WORKERS workers and prints one line,
// "JOBS SECONDS", the time from the server's start until Hangfire counts every job succeeded.
using System.Diagnostics;
using System.Globalization;
using Hangfire;
using Hangfire.PostgreSql;

var connection = args[0];
var jobs = int.Parse(args[1], CultureInfo.InvariantCulture);
var workers = int.Parse(args[2], CultureInfo.InvariantCulture);
GlobalConfiguration.Configuration.UsePostgreSqlStorage(o => o.UseNpgsqlConnection(connection),
    new PostgreSqlStorageOptions { QueuePollInterval = TimeSpan.FromMilliseconds(50), PrepareSchemaIfNecessary = true });
for (var i = 0; i < jobs; i++) BackgroundJob.Enqueue(() => Noop.Run(i));
var monitor = JobStorage.Current.GetMonitoringApi();
var clock = Stopwatch.StartNew();
using (new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = workers }))
{
    while (monitor.SucceededListCount() < jobs) Thread.Sleep(20);
    clock.Stop();
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{jobs} {clock.Elapsed.TotalSeconds:0.000}"));

public static class Noop
{
    public static void Run(int i) { }
}
