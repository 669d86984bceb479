using System.Globalization;
using System.Text;

namespace Strata.States.Jsonata;

// $formatNumber (XPath fn:format-number pictures), $formatInteger and $parseInteger (fn:format-integer pictures).
internal static partial class Functions
{
    private static readonly string[] Ones =
    [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen",
        "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
    ];

    private static readonly string[] Tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

    private static readonly (long Value, string Name)[] Scales =
        [(1_000_000_000_000_000_000, "quintillion"), (1_000_000_000_000_000, "quadrillion"), (1_000_000_000_000, "trillion"),
         (1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand"), (100, "hundred")];

    private static readonly (int Value, string Letters)[] Romans =
        [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"), (10, "x"), (9, "ix"),
         (5, "v"), (4, "iv"), (1, "i")];

    private static string Words(long n, bool ordinal)
    {
        string Under100(long v, bool ord)
        {
            if (v < 20) return ord ? OrdinalWord(Ones[v]) : Ones[v];
            var t = Tens[v / 10];
            if (v % 10 == 0) return ord ? OrdinalWord(t) : t;
            return t + "-" + (ord ? OrdinalWord(Ones[v % 10]) : Ones[v % 10]);
        }
        string Lookup(long v, bool ord)
        {
            if (v < 100) return Under100(v, ord);
            foreach (var (value, name) in Scales)
            {
                if (v < value) continue;
                var head = Lookup(v / value, false) + " " + name;
                var rest = v % value;
                if (rest == 0) return ord ? head + "th" : head;
                var joiner = rest < 100 ? " and " : value == 100 ? " and " : ", ";
                return head + joiner + Lookup(rest, ord);
            }
            return Under100(v, ord);
        }
        if (n < 0) return "minus " + Lookup(-n, ordinal);
        return Lookup(n, ordinal);
    }

    private static string OrdinalWord(string word) => word switch
    {
        "one" => "first",
        "two" => "second",
        "three" => "third",
        "five" => "fifth",
        "eight" => "eighth",
        "nine" => "ninth",
        "twelve" => "twelfth",
        _ when word.EndsWith('y') => word[..^1] + "ieth",
        _ => word + "th",
    };

    private static string FormatInteger(double value, string picture, CallContext? c)
    {
        var ordinal = false;
        var semi = picture.LastIndexOf(';');
        if (semi >= 0)
        {
            ordinal = picture[(semi + 1)..].StartsWith('o');
            picture = picture[..semi];
        }
        var n = (long)Math.Floor(value);
        switch (picture)
        {
            case "W": return Words(n, ordinal).ToUpperInvariant();
            case "w": return Words(n, ordinal);
            case "Ww":
                return string.Join(' ', Words(n, ordinal).Split(' ').Select(w => w == "and" ? w : char.ToUpperInvariant(w[0]) + w[1..]));
            case "I" or "i":
                {
                    var sb = new StringBuilder();
                    var v = n;
                    foreach (var (rv, letters) in Romans)
                        while (v >= rv)
                        {
                            sb.Append(letters);
                            v -= rv;
                        }
                    return picture == "I" ? sb.ToString().ToUpperInvariant() : sb.ToString();
                }
            case "A" or "a":
                {
                    var sb = new StringBuilder();
                    var v = n;
                    while (v > 0)
                    {
                        v--;
                        sb.Insert(0, (char)((picture == "A" ? 'A' : 'a') + v % 26));
                        v /= 26;
                    }
                    return sb.ToString();
                }
        }
        // a decimal digit pattern: mandatory digits (0-9), optional digits (#) and grouping separators
        if (!picture.Any(char.IsAsciiDigit) && !picture.Contains('#'))
        {
            if (c is not null) throw c.Error("D3130", picture);
            return n.ToString(CultureInfo.InvariantCulture);
        }
        var digitsText = Math.Abs(n).ToString(CultureInfo.InvariantCulture);
        var mandatory = picture.Count(char.IsAsciiDigit);
        if (digitsText.Length < mandatory) digitsText = new string('0', mandatory - digitsText.Length) + digitsText;
        // grouping separators at the positions (from the right) the picture puts them
        var separators = new List<(int Position, char Sep)>();
        var count = 0;
        for (var i = picture.Length - 1; i >= 0; i--)
        {
            var ch = picture[i];
            if (char.IsAsciiDigit(ch) || ch == '#') count++;
            else separators.Add((count, ch));
        }
        var regular = separators.Count > 0 && separators.All(s => s.Sep == separators[0].Sep && s.Position % separators[0].Position == 0)
            && separators.Select((s, k) => s.Position == separators[0].Position * (k + 1)).All(x => x);
        var result = new StringBuilder();
        for (var i = 0; i < digitsText.Length; i++)
        {
            var fromRight = digitsText.Length - i;
            result.Append(digitsText[i]);
            var after = fromRight - 1;
            if (after <= 0) continue;
            if (regular && after % separators[0].Position == 0) result.Append(separators[0].Sep);
            else if (!regular)
                foreach (var (pos, sep) in separators)
                    if (pos == after) result.Append(sep);
        }
        var text = result.ToString();
        if (ordinal) text += OrdinalSuffix(Math.Abs(n));
        return n < 0 ? "-" + text : text;
    }

    private static object? ParseInteger(string value, string picture, CallContext c)
    {
        var semi = picture.LastIndexOf(';');
        if (semi >= 0) picture = picture[..semi];
        switch (picture)
        {
            case "W" or "w" or "Ww": return (double)ParseWords(value.ToLowerInvariant());
            case "I" or "i":
                {
                    var v = value.ToLowerInvariant();
                    long total = 0;
                    var k = 0;
                    foreach (var (rv, letters) in Romans)
                        while (v.AsSpan(k).StartsWith(letters))
                        {
                            total += rv;
                            k += letters.Length;
                        }
                    return (double)total;
                }
            case "A" or "a":
                {
                    long total = 0;
                    foreach (var ch in value.ToLowerInvariant()) total = total * 26 + (ch - 'a' + 1);
                    return (double)total;
                }
        }
        var digits = new string(value.Where(ch => char.IsAsciiDigit(ch) || ch == '-').ToArray());
        if (value.EndsWith("st") || value.EndsWith("nd") || value.EndsWith("rd") || value.EndsWith("th")) digits = new string(digits.Where(char.IsAsciiDigit).ToArray());
        return long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var r) ? (double)r : throw c.Error("D3130", picture);
    }

    private static long ParseWords(string text)
    {
        long total = 0, current = 0;
        foreach (var raw in text.Replace(",", " ", StringComparison.Ordinal).Replace("-", " ", StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var w = raw;
            if (w == "and") continue;
            var idx = Array.FindIndex(Ones, o => o == w || OrdinalWord(o) == w);
            if (idx >= 0)
            {
                current += idx;
                continue;
            }
            idx = Array.FindIndex(Tens, t => t.Length > 0 && (t == w || OrdinalWord(t) == w));
            if (idx >= 0)
            {
                current += idx * 10;
                continue;
            }
            var scale = Array.FindIndex(Scales, s => s.Name == w || s.Name + "th" == w);
            if (scale < 0) continue;
            var value = Scales[scale].Value;
            if (value == 100) current *= 100;
            else
            {
                total += current * value;
                current = 0;
            }
        }
        return total + current;
    }

    /// <summary>XPath fn:format-number: digits, optional digits, grouping, decimal separator, percent and per-mille,
    /// exponent, prefix and suffix text, and a separate picture for negative numbers.</summary>
    private static string FormatNumberPicture(double value, string picture, JObject? options, CallContext c)
    {
        string Opt(string name, string fallback) => options?.GetValueOrDefault(name) as string ?? fallback;
        var decimalSep = Opt("decimal-separator", ".")[0];
        var groupSep = Opt("grouping-separator", ",")[0];
        var zeroDigit = Opt("zero-digit", "0")[0];
        var digit = Opt("digit", "#")[0];
        var percent = Opt("percent", "%");
        var perMille = Opt("per-mille", "\u2030");
        var exponentSep = Opt("exponent-separator", "e")[0];
        var minusSign = Opt("minus-sign", "-");
        var patternSep = Opt("pattern-separator", ";")[0];
        if (double.IsNaN(value)) return Opt("NaN", "NaN");
        var subPictures = picture.Split(patternSep);
        if (subPictures.Length > 2) throw c.Error("D3080");
        bool IsDigit(char ch) => ch >= zeroDigit && ch <= zeroDigit + 9;
        bool IsActive(char ch) => IsDigit(ch) || ch == digit || ch == decimalSep || ch == groupSep || ch == patternSep;

        (string Prefix, string Mantissa, string Exponent, string Suffix) Split(string sub)
        {
            var first = -1;
            var last = -1;
            for (var i = 0; i < sub.Length; i++)
            {
                if (!IsActive(sub[i])) continue;
                if (first < 0) first = i;
                last = i;
            }
            if (first < 0) return (sub, "", "", "");
            // an exponent separator between active characters belongs to the number
            var body = sub[first..(last + 1)];
            var suffix = sub[(last + 1)..];
            var prefix = sub[..first];
            var e = body.IndexOf(exponentSep);
            var mantissa = e > 0 ? body[..e] : body;
            var exponent = e > 0 ? body[(e + 1)..] : "";
            if (e < 0 && suffix.Length > 1 && suffix[0] == exponentSep && IsDigit(suffix[1]))
            {
                var k = 1;
                while (k < suffix.Length && IsDigit(suffix[k])) k++;
                exponent = suffix[1..k];
                suffix = suffix[k..];
            }
            return (prefix, mantissa, exponent, suffix);
        }

        var parts = subPictures.Select(Split).ToArray();
        foreach (var sub in subPictures)
        {
            if (sub.Count(ch => ch == decimalSep) > 1) throw c.Error("D3081");
            if (sub.Split(percent).Length - 1 > 1) throw c.Error("D3082");
            if (sub.Split(perMille).Length - 1 > 1) throw c.Error("D3083");
            if (sub.Contains(percent) && sub.Contains(perMille)) throw c.Error("D3084");
        }
        foreach (var p in parts)
        {
            if (!p.Mantissa.Any(ch => IsDigit(ch) || ch == digit)) throw c.Error("D3085");
            var dp = p.Mantissa.IndexOf(decimalSep);
            var intPart = dp >= 0 ? p.Mantissa[..dp] : p.Mantissa;
            var fracPart = dp >= 0 ? p.Mantissa[(dp + 1)..] : "";
            if (dp >= 0 && ((dp > 0 && p.Mantissa[dp - 1] == groupSep) || (dp + 1 < p.Mantissa.Length && p.Mantissa[dp + 1] == groupSep))) throw c.Error("D3087");
            if (intPart.EndsWith(groupSep)) throw c.Error("D3088");
            if (p.Mantissa.Contains(new string(groupSep, 2))) throw c.Error("D3089");
            var seenDigit = false;
            foreach (var ch in intPart)
            {
                if (IsDigit(ch)) seenDigit = true;
                else if (ch == digit && seenDigit) throw c.Error("D3090");
            }
            var seenOptional = false;
            foreach (var ch in fracPart)
            {
                if (ch == digit) seenOptional = true;
                else if (IsDigit(ch) && seenOptional) throw c.Error("D3091");
            }
        }
        var negative = value < 0;
        var (prefix, mantissaPic, exponentPic, suffix) = negative && parts.Length > 1 ? parts[1] : parts[0];
        var whole = negative && parts.Length > 1 ? subPictures[1] : subPictures[0];
        var abs = Math.Abs(value);
        if (whole.Contains(percent)) abs *= 100;
        else if (whole.Contains(perMille)) abs *= 1000;
        if (double.IsInfinity(abs)) return (negative && parts.Length == 1 ? minusSign : "") + prefix + Opt("infinity", "Infinity") + suffix;

        var dot = mantissaPic.IndexOf(decimalSep);
        var intPic = dot >= 0 ? mantissaPic[..dot] : mantissaPic;
        var fracPic = dot >= 0 ? mantissaPic[(dot + 1)..] : "";
        var minInt = intPic.Count(IsDigit);
        var minFrac = fracPic.Count(IsDigit);
        var maxFrac = fracPic.Count(ch => IsDigit(ch) || ch == digit);
        var groupPositions = new List<int>();
        var cnt = 0;
        for (var i = intPic.Length - 1; i >= 0; i--)
        {
            if (intPic[i] == groupSep) groupPositions.Add(cnt);
            else if (IsDigit(intPic[i]) || intPic[i] == digit) cnt++;
        }
        var fracGroupPositions = new List<int>();
        cnt = 0;
        foreach (var ch in fracPic)
        {
            if (ch == groupSep) fracGroupPositions.Add(cnt);
            else cnt++;
        }
        var exponent = 0;
        if (exponentPic.Length > 0 && abs != 0)
        {
            // scale so the integer part has as many digits as the picture's minimum (at least one)
            var target = Math.Max(minInt, 1);
            exponent = (int)Math.Floor(Math.Log10(abs)) + 1 - target;
            abs /= Math.Pow(10, exponent);
            if (minInt == 0 && abs >= 1)
            {
                abs /= 10;
                exponent++;
            }
        }
        var rounded = Math.Round((decimal)abs, Math.Min(maxFrac, 28), MidpointRounding.ToEven);
        var digits = rounded.ToString("F" + maxFrac, CultureInfo.InvariantCulture);
        var dotAt = digits.IndexOf('.');
        var intDigits = dotAt >= 0 ? digits[..dotAt] : digits;
        var fracDigits = dotAt >= 0 ? digits[(dotAt + 1)..] : "";
        fracDigits = fracDigits.TrimEnd('0');
        if (fracDigits.Length < minFrac) fracDigits = fracDigits.PadRight(minFrac, '0');
        intDigits = intDigits.TrimStart('0');
        if (intDigits.Length < minInt) intDigits = intDigits.PadLeft(minInt, '0');
        if (intDigits.Length == 0 && fracDigits.Length == 0) intDigits = "0";
        // digits in the picture's zero-digit family
        string Localize(string s) => zeroDigit == '0' ? s : new string(s.Select(ch => char.IsAsciiDigit(ch) ? (char)(zeroDigit + (ch - '0')) : ch).ToArray());
        var sb = new StringBuilder();
        var regular = groupPositions.Count > 0 && groupPositions.Select((pos, k) => pos == groupPositions[0] * (k + 1)).All(x => x)
            && intPic.IndexOf(groupSep) >= 0 && groupPositions[0] > 0;
        for (var i = 0; i < intDigits.Length; i++)
        {
            sb.Append(intDigits[i]);
            var after = intDigits.Length - i - 1;
            if (after <= 0) continue;
            if (regular ? after % groupPositions[0] == 0 : groupPositions.Contains(after)) sb.Append(groupSep);
        }
        var intText = Localize(sb.ToString());
        sb.Clear();
        for (var i = 0; i < fracDigits.Length; i++)
        {
            if (fracGroupPositions.Contains(i) && i > 0) sb.Append(groupSep);
            sb.Append(fracDigits[i]);
        }
        var text = intText + (fracDigits.Length > 0 ? decimalSep + Localize(sb.ToString()) : "");
        if (exponentPic.Length > 0)
        {
            var minExp = exponentPic.Count(IsDigit);
            var expText = Math.Abs(exponent).ToString(new string('0', Math.Max(minExp, 1)), CultureInfo.InvariantCulture);
            text += exponentSep + (exponent < 0 ? minusSign : "") + Localize(expText);
        }
        var isZero = rounded == 0 && exponent == 0;
        return (negative && parts.Length == 1 && !isZero ? minusSign : "") + prefix + text + suffix;
    }
}
