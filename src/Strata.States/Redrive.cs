namespace Strata.States;

/// <summary>
/// What a redrive forgets of an execution's journal so that running it again (a replay, as after a
/// restart) reruns only what did not succeed, as AWS's RedriveExecution does: states that exited
/// replay silently from their recorded events and results (no Task runs again); a state that entered
/// and never exited (the one that failed, was aborted or timed out) runs again from its entry, with
/// fresh retries; inside a Parallel or Map that did not finish, the branches and iterations that
/// succeeded replay and only the others run again.
/// </summary>
public static class Redrive
{
    /// <summary>The journal keys to delete before a redrive, of all the keys the execution recorded.
    /// Keys are the interpreter's: a state's are <c>{frame}/{step}:{name}</c> followed by <c>.</c> (its
    /// events and values) or <c>#{attempt}</c> (its host's task keys, <c>#{attempt}/{word}</c>, and its
    /// children's frames, <c>#{attempt}/{index}</c>, whose Map iteration events are <c>{frame}.started</c>…).</summary>
    public static IReadOnlyList<string> KeysToForget(IReadOnlyCollection<string> keys)
    {
        var all = keys as IReadOnlySet<string> ?? new HashSet<string>(keys, StringComparer.Ordinal);
        var unfinished = keys.Where(k => k.EndsWith(".entered", StringComparison.Ordinal))
            .Select(k => k[..^".entered".Length])
            .Where(state => !all.Contains(state + ".exited"))
            .ToHashSet(StringComparer.Ordinal);
        var forget = new List<string>();
        foreach (var key in keys)
        {
            // The execution's end, and the runner's own closing events: the redriven run ends anew.
            if (key == "execution.end" || key.StartsWith("strata:Execution", StringComparison.Ordinal))
            {
                forget.Add(key);
                continue;
            }
            // The innermost unfinished state the key is under, if any: the longest prefix ending before a
            // '.' or '#' that names one (looked up per prefix, so a long history is not keys × states).
            string? owner = null;
            for (var i = key.Length - 1; i > 0 && owner is null; i--)
                if (key[i] is '.' or '#' && unfinished.Contains(key[..i])) owner = key[..i];
            if (owner is null) continue;
            var rest = key[owner.Length..];
            // A distributed Map's run id: the redriven Map reopens that Map Run, whose children that succeeded stay done.
            if (rest.StartsWith(".maprun", StringComparison.Ordinal) && rest.Length > ".maprun".Length && rest[".maprun".Length..].All(char.IsAsciiDigit)) continue;
            if (rest[0] == '.') { forget.Add(key); continue; }
            // #{attempt}/{index}… is a child frame; anything else after # is the host's for this state's task.
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0) { forget.Add(key); continue; }
            var tail = rest[(slash + 1)..];
            var digits = tail.TakeWhile(char.IsAsciiDigit).Count();
            if (digits == 0) { forget.Add(key); continue; }
            // A child frame's own events (a Map iteration's started/failed): forgotten unless the iteration succeeded.
            if (digits < tail.Length && tail[digits] == '.')
            {
                var frame = owner + rest[..(slash + 1 + digits)];
                if (!all.Contains(frame + ".succeeded")) forget.Add(key);
            }
            // Keys of states inside the frame: theirs to decide (an unfinished one is a nearer owner).
        }
        return forget;
    }
}
