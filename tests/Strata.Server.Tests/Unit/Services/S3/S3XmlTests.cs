using System.Text;
using System.Xml.Linq;
using Strata.Server.Protocol;
using Strata.Server.Services.S3;
using Strata.Server.Services.S3.Model;

namespace Strata.Server.Tests.Unit;

/// <summary>S3's XML on the generated layer: documents get S3's root element and namespace around
/// the generated members; request bodies are read by the generated readers.</summary>
public sealed class S3XmlTests
{
    static readonly XNamespace S3 = S3Service.XmlNamespace;

    static XElement Parse(object output) => XDocument.Parse(Encoding.UTF8.GetString(S3Http.XmlDocument(output))).Root!;

    [Fact]
    public void ListBucketsIsWrittenInsideItsRootInS3sNamespace()
    {
        var root = Parse(new ListBucketsOutput
        {
            Owner = new Owner { ID = "abc", DisplayName = "me" },
            Buckets = [new Bucket { Name = "b1", CreationDate = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero), BucketRegion = "us-east-1" }],
        });
        Assert.Equal(S3 + "ListAllMyBucketsResult", root.Name);
        Assert.Equal("abc", root.Element(S3 + "Owner")!.Element(S3 + "ID")!.Value);
        var bucket = root.Element(S3 + "Buckets")!.Element(S3 + "Bucket")!;
        Assert.Equal("b1", bucket.Element(S3 + "Name")!.Value);
        Assert.Equal("2024-01-02T03:04:05.000Z", bucket.Element(S3 + "CreationDate")!.Value);
        Assert.Null(root.Element(S3 + "ContinuationToken"));
    }

    [Fact]
    public void FlattenedListsAreRepeatedElementsAndEmptyListsAreAbsent()
    {
        var root = Parse(new ListObjectsV2Output
        {
            Name = "b",
            KeyCount = 2,
            IsTruncated = false,
            Contents = [new ObjectShape { Key = "a", Size = 1 }, new ObjectShape { Key = "b", Size = 2, ChecksumAlgorithm = ["CRC32"] }],
            CommonPrefixes = [],
        });
        Assert.Equal(S3 + "ListBucketResult", root.Name);
        Assert.Equal(["a", "b"], root.Elements(S3 + "Contents").Select(c => c.Element(S3 + "Key")!.Value));
        Assert.Equal("CRC32", root.Elements(S3 + "Contents").Last().Element(S3 + "ChecksumAlgorithm")!.Value);
        Assert.Empty(root.Elements(S3 + "CommonPrefixes"));
        Assert.Equal("false", root.Element(S3 + "IsTruncated")!.Value);
    }

    [Fact]
    public void TheLocationConstraintIsTheRootsText()
    {
        Assert.Equal("eu-west-1", Parse(new GetBucketLocationOutput { LocationConstraint = "eu-west-1" }).Value);
        var usEast1 = Parse(new GetBucketLocationOutput());
        Assert.Equal(S3 + "LocationConstraint", usEast1.Name);
        Assert.Empty(usEast1.Nodes());
    }

    [Fact]
    public void PayloadsAreTheirOwnDocuments()
    {
        var root = Parse(new CopyObjectResult { ETag = "\"e\"" }.WithChecksum(ChecksumAlgorithm.SHA256, "c2hh") with { ChecksumType = "FULL_OBJECT" });
        Assert.Equal(S3 + "CopyObjectResult", root.Name);
        Assert.Equal("c2hh", root.Element(S3 + "ChecksumSHA256")!.Value);
        Assert.Equal("FULL_OBJECT", root.Element(S3 + "ChecksumType")!.Value);
    }

    [Fact]
    public void AnOutputWithoutAnS3DocumentIsAProgrammingError()
        => Assert.Throws<ArgumentException>(() => S3Http.XmlDocument(new PutObjectOutput()));

    [Fact]
    public void RequestBodiesReadTheSameWithOrWithoutS3sNamespace()
    {
        var with = S3XmlReader.ReadDelete(XElement.Parse($"<Delete xmlns=\"{S3Service.XmlNamespace}\"><Object><Key>a</Key></Object><Object><Key>b</Key></Object><Quiet>true</Quiet></Delete>"));
        var without = S3XmlReader.ReadDelete(XElement.Parse("<Delete><Object><Key>a</Key></Object><Object><Key>b</Key></Object><Quiet>true</Quiet></Delete>"));
        Assert.Equal(["a", "b"], with.Objects!.Select(o => o.Key));
        Assert.Equal(["a", "b"], without.Objects!.Select(o => o.Key));
        Assert.True(with.Quiet);
        var part = S3XmlReader.ReadCompletedMultipartUpload(XElement.Parse("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag><ChecksumCRC32>x</ChecksumCRC32></Part></CompleteMultipartUpload>")).Parts!.Single();
        Assert.Equal("x", part.Checksum(ChecksumAlgorithm.CRC32));
        Assert.Null(part.Checksum(ChecksumAlgorithm.SHA1));
    }

    [Fact]
    public void AValueNotOfItsMembersTypeIsMalformedXml()
    {
        var e = Assert.Throws<AwsException>(() => S3XmlReader.ReadPublicAccessBlockConfiguration(XElement.Parse("<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls></PublicAccessBlockConfiguration>")));
        Assert.Equal("MalformedXML", e.Code);
        e = Assert.Throws<AwsException>(() => S3XmlReader.ReadCompletedMultipartUpload(XElement.Parse("<CompleteMultipartUpload><Part><PartNumber>one</PartNumber></Part></CompleteMultipartUpload>")));
        Assert.Equal("MalformedXML", e.Code);
    }
}
