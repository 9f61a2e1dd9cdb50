//! The template tree.

use crate::Span;

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    /// The top-level nodes, in order; adjacent text is always merged into one node.
    pub nodes: Vec<Node>,
}

/// One part of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Literal text, with `{{` and `}}` already unescaped.
    Text(String),
    /// A `{column}` or `{column.field}` reference.
    Ref(Reference),
    /// An `{% if %} … {% elif %} … {% else %} … {% endif %}` block.
    If(Conditional),
}

/// A place where a template names another column: `{question}`, or a field of a struct
/// column, `{review.score}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// The column, then any fields inside it (raw identifiers unprefixed).
    pub path: Vec<String>,
    /// The whole `{...}` range, braces included.
    pub span: Span,
}

impl Reference {
    /// The column named.
    pub fn column(&self) -> &str {
        &self.path[0]
    }

    /// The fields read inside the column (empty for a plain `{column}`).
    pub fn fields(&self) -> &[String] {
        &self.path[1..]
    }
}

/// `{% if a %} ... {% elif b %} ... {% else %} ... {% endif %}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conditional {
    /// The `if` and `elif` branches, in order.
    pub branches: Vec<Branch>,
    /// The `else` body (empty without one).
    pub otherwise: Vec<Node>,
    /// From `{% if` to `endif %}`.
    pub span: Span,
}

/// One `if` or `elif` branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// The condition.
    pub condition: Condition,
    /// Where the condition's text is.
    pub condition_span: Span,
    /// What the branch renders.
    pub body: Vec<Node>,
}

/// The condition of an `if` or `elif`, as Jinja reads it: `or` binds loosest, then
/// `and`, then `not`, then comparisons and `in`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// A bare operand, tested for truth: `{% if notes %}`.
    Truthy(Operand),
    /// `left op right`.
    Compare {
        /// The left side.
        left: Operand,
        /// The comparison.
        op: CompareOp,
        /// The right side.
        right: Operand,
        /// The whole comparison.
        span: Span,
    },
    /// `item in [..]`, or `item not in [..]`.
    In {
        /// What is looked for.
        item: Operand,
        /// The literals it is looked for among.
        list: Vec<Literal>,
        /// `not in`.
        negated: bool,
        /// The whole test.
        span: Span,
    },
    /// `not c`.
    Not(Box<Condition>),
    /// `a and b`.
    And(Box<Condition>, Box<Condition>),
    /// `a or b`.
    Or(Box<Condition>, Box<Condition>),
}

/// One side of a comparison: a column (or a field inside one), or a literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// A column, or a path into a struct column.
    Ref(Reference),
    /// A literal.
    Literal(Literal),
}

/// A literal in a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    /// Its value.
    pub value: LiteralValue,
    /// Where it is.
    pub span: Span,
}

/// The value of a [`Literal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiteralValue {
    /// `"text"` or `'text'`, unescaped.
    Str(String),
    /// An integer, as written (`-3`, `10`).
    Int(String),
    /// A float, as written (`0.5`, `-1e3`).
    Float(String),
    /// `true` / `false` (or Jinja's `True` / `False`).
    Bool(bool),
}

impl LiteralValue {
    /// What kind of literal it is, for messages: "a string", "an integer", ...
    pub fn describe(&self) -> &'static str {
        match self {
            LiteralValue::Str(_) => "a string",
            LiteralValue::Int(_) => "an integer",
            LiteralValue::Float(_) => "a float",
            LiteralValue::Bool(_) => "a bool",
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CompareOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }

    /// The operator with its sides swapped (`a < b` is `b > a`).
    pub fn flipped(self) -> CompareOp {
        match self {
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Le => CompareOp::Ge,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Ge => CompareOp::Le,
            other => other,
        }
    }

    /// Whether an ordering of the two sides satisfies the operator (`None`, values that
    /// do not compare, satisfies only `!=`).
    pub fn holds(self, ordering: Option<std::cmp::Ordering>) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match (self, ordering) {
            (CompareOp::Ne, None) => true,
            (_, None) => false,
            (CompareOp::Eq, Some(o)) => o == Equal,
            (CompareOp::Ne, Some(o)) => o != Equal,
            (CompareOp::Lt, Some(o)) => o == Less,
            (CompareOp::Le, Some(o)) => o != Greater,
            (CompareOp::Gt, Some(o)) => o == Greater,
            (CompareOp::Ge, Some(o)) => o != Less,
        }
    }
}

impl Condition {
    /// The column references the condition reads, in order.
    pub fn references(&self) -> Vec<&Reference> {
        let mut found = Vec::new();
        self.collect(&mut found);
        found
    }

    fn collect<'a>(&'a self, found: &mut Vec<&'a Reference>) {
        let mut operand = |o: &'a Operand| {
            if let Operand::Ref(r) = o {
                found.push(r);
            }
        };
        match self {
            Condition::Truthy(o) => operand(o),
            Condition::Compare { left, right, .. } => {
                operand(left);
                operand(right);
            }
            Condition::In { item, .. } => operand(item),
            Condition::Not(c) => c.collect(found),
            Condition::And(a, b) | Condition::Or(a, b) => {
                a.collect(found);
                b.collect(found);
            }
        }
    }
}

impl Template {
    /// Every reference, in order of appearance: the ones written into the prompt and
    /// the ones conditions read (a column may appear more than once). These are the
    /// template's dependencies.
    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        let mut found = Vec::new();
        collect(&self.nodes, &mut found, true);
        found.into_iter()
    }

    /// The references written into the prompt (`{column}`), in any branch; not the
    /// ones only conditions read.
    pub fn rendered_references(&self) -> impl Iterator<Item = &Reference> {
        let mut found = Vec::new();
        collect(&self.nodes, &mut found, false);
        found.into_iter()
    }

    /// Every condition, depth first in order of appearance (the order in which
    /// [`Piece`](crate::Piece) numbers them).
    pub fn conditions(&self) -> Vec<&Condition> {
        let mut found = Vec::new();
        conditions(&self.nodes, &mut found);
        found
    }
}

fn collect<'a>(nodes: &'a [Node], found: &mut Vec<&'a Reference>, conditions: bool) {
    for node in nodes {
        match node {
            Node::Text(_) => {}
            Node::Ref(reference) => found.push(reference),
            Node::If(conditional) => {
                for branch in &conditional.branches {
                    if conditions {
                        found.extend(branch.condition.references());
                    }
                    collect(&branch.body, found, conditions);
                }
                collect(&conditional.otherwise, found, conditions);
            }
        }
    }
}

fn conditions<'a>(nodes: &'a [Node], found: &mut Vec<&'a Condition>) {
    for node in nodes {
        if let Node::If(conditional) = node {
            for branch in &conditional.branches {
                found.push(&branch.condition);
                conditions(&branch.body, found);
            }
            conditions(&conditional.otherwise, found);
        }
    }
}
