using System.Text.Json.Nodes;

namespace Strata.States.Tests.Jsonata;

/// <summary>The sample documents the JSONata reference documentation's examples run against.</summary>
internal static class JsonataSamples
{
    /// <summary>The "Address" document of docs.jsonata.org (path operators, predicates, functions).</summary>
    public const string Address = """
        {
          "FirstName": "Fred",
          "Surname": "Smith",
          "Age": 28,
          "Address": { "Street": "Hursley Park", "City": "Winchester", "Postcode": "SO21 2JN" },
          "Phone": [
            { "type": "home", "number": "0203 544 1234" },
            { "type": "office", "number": "01962 001234" },
            { "type": "office", "number": "01962 001235" },
            { "type": "mobile", "number": "077 7700 1234" }
          ],
          "Email": [
            { "type": "work", "address": ["fred.smith@my-work.com", "fsmith@my-work.com"] },
            { "type": "home", "address": ["freddy@my-social.com", "frederic.smith@very-serious.com"] }
          ],
          "Other": {
            "Over 18 ?": true,
            "Misc": null,
            "Alternative.Address": { "Street": "Brick Lane", "City": "London", "Postcode": "E1 6RF" }
          }
        }
        """;

    /// <summary>The "Invoice" document of docs.jsonata.org (aggregation, grouping, sorting).</summary>
    public const string Invoice = """
        {
          "Account": {
            "Account Name": "Firefly",
            "Order": [
              {
                "OrderID": "order103",
                "Product": [
                  { "Product Name": "Bowler Hat", "ProductID": 858383, "SKU": "0406654608",
                    "Description": { "Colour": "Purple", "Width": 300, "Height": 200, "Depth": 210, "Weight": 0.75 },
                    "Price": 34.45, "Quantity": 2 },
                  { "Product Name": "Trilby hat", "ProductID": 858236, "SKU": "0406634348",
                    "Description": { "Colour": "Orange", "Width": 300, "Height": 200, "Depth": 210, "Weight": 0.6 },
                    "Price": 21.67, "Quantity": 1 }
                ]
              },
              {
                "OrderID": "order104",
                "Product": [
                  { "Product Name": "Bowler Hat", "ProductID": 858383, "SKU": "040657863",
                    "Description": { "Colour": "Purple", "Width": 300, "Height": 200, "Depth": 210, "Weight": 0.75 },
                    "Price": 34.45, "Quantity": 4 },
                  { "ProductID": 345664, "SKU": "0406654603", "Product Name": "Cloak",
                    "Description": { "Colour": "Black", "Width": 30, "Height": 20, "Depth": 210, "Weight": 2 },
                    "Price": 107.99, "Quantity": 1 }
                ]
              }
            ]
          }
        }
        """;

    /// <summary>The library example of the docs' "Sorting, grouping and aggregation" and "Composition" pages.</summary>
    public const string Library = """
        {
          "library": {
            "books": [
              { "title": "Structure and Interpretation of Computer Programs", "authors": ["Abelson", "Sussman"], "isbn": "9780262510875", "price": 38.90, "copies": 2 },
              { "title": "The C Programming Language", "authors": ["Kernighan", "Richie"], "isbn": "9780131103627", "price": 33.59, "copies": 3 },
              { "title": "The AWK Programming Language", "authors": ["Aho", "Kernighan", "Weinberger"], "isbn": "9780201079814", "copies": 1 },
              { "title": "Compilers: Principles, Techniques, and Tools", "authors": ["Aho", "Lam", "Sethi", "Ullman"], "isbn": "9780201100884", "price": 23.38, "copies": 1 }
            ],
            "loans": [
              { "customer": "10001", "isbn": "9780262510875", "return": "2016-12-05" },
              { "customer": "10003", "isbn": "9780201100884", "return": "2016-10-22" },
              { "customer": "10003", "isbn": "9780262510875", "return": "2016-12-22" }
            ],
            "customers": [
              { "id": "10001", "name": "Joe Doe", "address": { "street": "2 Long Road", "city": "Winchester", "postcode": "SO22 5PU" } },
              { "id": "10002", "name": "Fred Bloggs", "address": { "street": "56 Letsby Avenue", "city": "Winchester", "postcode": "SO22 4WD" } },
              { "id": "10003", "name": "Jason Arthur", "address": { "street": "1 Preddy Gate", "city": "Southampton", "postcode": "SO14 0MG" } }
            ]
          }
        }
        """;

    public static JsonNode? Input(string name) => name switch
    {
        "address" => JsonNode.Parse(Address),
        "invoice" => JsonNode.Parse(Invoice),
        "library" => JsonNode.Parse(Library),
        "null" => null,
        _ => JsonNode.Parse(name),
    };
}
