using System;
using HerdPS.Selection;

namespace HerdPS.Tests.Selection
{
    public class TagExpressionTests
    {
        private static readonly string[] WebProd = { "prod", "nginx", "debian12" };
        private static readonly string[] WebStaging = { "staging", "nginx", "debian12" };
        private static readonly string[] Db = { "prod", "postgres", "debian11" };

        [Fact]
        public void CommaIsAnd()
        {
            var expression = TagExpression.Parse("prod,debian12");
            Assert.True(expression.Matches(WebProd));
            Assert.False(expression.Matches(WebStaging));
            Assert.False(expression.Matches(Db));
        }

        [Fact]
        public void BangIsNot()
        {
            var expression = TagExpression.Parse("!staging");
            Assert.True(expression.Matches(WebProd));
            Assert.False(expression.Matches(WebStaging));
            Assert.True(expression.Matches(Array.Empty<string>()));
        }

        [Fact]
        public void AndWithNot()
        {
            var expression = TagExpression.Parse("nginx,!staging");
            Assert.True(expression.Matches(WebProd));
            Assert.False(expression.Matches(WebStaging));
            Assert.False(expression.Matches(Db));
        }

        [Fact]
        public void SeveralClausesAreOr()
        {
            var expression = TagExpression.Parse(new[] { "prod,nginx", "postgres" });
            Assert.True(expression.Matches(WebProd));
            Assert.True(expression.Matches(Db));
            Assert.False(expression.Matches(WebStaging));
            Assert.Equal("prod,nginx OR postgres", expression.ToString());
        }

        [Fact]
        public void TagsCompareCaseInsensitivelyAndSpacesAroundTermsAreIgnored()
        {
            Assert.True(TagExpression.Parse("PROD , ! staging").Matches(WebProd));
        }

        [Fact]
        public void ClauseExposesItsTerms()
        {
            var clause = TagExpression.Parse("a,!b,c").Clauses[0];
            Assert.Equal(new[] { "a", "c" }, clause.Required);
            Assert.Equal(new[] { "b" }, clause.Excluded);
            Assert.Equal("a,!b,c", clause.Text);
        }

        [Theory]
        [InlineData("", "can't be empty")]
        [InlineData("prod,", "empty term")]
        [InlineData(",prod", "empty term")]
        [InlineData("prod,,x", "empty term")]
        [InlineData("!", "empty term")]
        [InlineData("!!prod", "'!'")]
        [InlineData("pro d", "whitespace")]
        [InlineData("prod;x", "';'")]
        [InlineData("-prod", "'-'")]
        public void RejectsBadClauses(string clause, string expected)
        {
            var error = Assert.Throws<FormatException>(() => TagExpression.Parse(clause));
            Assert.Contains(expected, error.Message);
        }

        [Fact]
        public void NoClausesIsAnError()
        {
            Assert.False(TagExpression.TryParse(Array.Empty<string>(), out _, out var reason));
            Assert.Contains("at least one clause", reason);
        }
    }
}
