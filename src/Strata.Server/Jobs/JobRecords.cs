namespace Strata.Server.Jobs;

/// <summary>One kind of job as its runner sees it, kept by the service that owns the jobs: every
/// job of every account (what a restart resumes), one job, and a change of a job's state.</summary>
public interface IJobRecords<TRecord, TState> where TRecord : class
{
    IEnumerable<(string Account, TRecord Record)> All();

    TRecord? Get(string account, string name);

    /// <summary>Changes a job's state in one transaction; the record as changed, or null when it is gone.</summary>
    TRecord? Update(string account, string name, Func<TState, TState> change);
}
