using System.Globalization;

namespace Strata.Algorithms;

/// <summary>What a supervised objective's labels are: 0 or 1, a class number, or any real number.</summary>
public enum LabelKind { Binary, Multiclass, Real }

/// <summary>The label checks every supervised algorithm makes before it trains.</summary>
public static class Labels
{
    /// <summary>Fails naming the first record whose label <paramref name="objective"/> cannot take
    /// (or the channel, when it has no label column at all).</summary>
    public static void Check(Dataset d, LabelKind kind, int classes, string objective, string classesHyperparameter)
    {
        if (!d.Labeled)
            throw new ClientError($"Channel '{d.Name}' has no label column (text/csv;label_size=0), but {objective} learns from labels: give the label as the first CSV column");
        for (var i = 0; i < d.Rows; i++)
        {
            var label = d.Labels[i];
            var bad = kind switch
            {
                LabelKind.Binary => label is not (0f or 1f) ? $"labels must be 0 or 1 for {objective}" : null,
                LabelKind.Multiclass => label < 0 || label >= classes || label != MathF.Floor(label)
                    ? $"labels must be integers in [0, {classesHyperparameter}) = [0, {classes}) for {objective}" : null,
                _ => float.IsFinite(label) ? null : "labels must be finite numbers",
            };
            if (bad is not null)
                throw new ClientError($"Channel '{d.Name}', record {i + 1}: label {label.ToString(CultureInfo.InvariantCulture)} is invalid: {bad}");
        }
    }
}
