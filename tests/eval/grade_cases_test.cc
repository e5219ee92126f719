// Grading verdicts, case by case: (prediction, gold) pairs and whole model
// outputs, with the verdict of the reference rules and of the strict rules.
//
// The reference verdicts are what the Python harness behind the R-KV paper
// (its evaluation/ scripts: extract_answer, strip_string, math_equal) decides
// for each case, cases written for this test and checked against that
// harness run unchanged (tools/grade_crosscheck.py). The strict verdicts are
// a careful reader's (docs/eval.md lists where the rule sets differ).
#include <gtest/gtest.h>

#include "rkv/eval/grade.h"

namespace rkv::eval {
namespace {

struct PairCase {
  const char* pred;  // what the model boxed
  const char* gold;  // the dataset's answer
  bool reference, strict;
};

// Each prediction is graded as the output "The answer is $\boxed{PRED}$."
const PairCase kPairs[] = {
    // numbers: float() forms, thousands separators, tolerance 1e-4 and the percent variants x/100, x, 100x
    {"42", "42", true, true},
    {"42.0", "42", true, true},
    {"0042", "42", true, true},
    {"4.2e1", "42", true, true},
    {"1,000", "1000", true, true},
    {"1000", "1,000", true, true},
    {"26999", "27000", true, false},
    {"27000.5", "27000", true, false},
    {"300", "3", true, false},
    {"0.03", "3", true, false},
    {"3%", "3", true, true},
    {"3\\%", "0.03", true, true},
    {"-5", "5", false, false},
    {"5.", "5", true, true},
    {".5", "0.5", true, true},
    {"1/2", "0.5", true, true},
    {"\\frac12", "0.5", true, true},
    {"0.333", "\\frac13", false, false},
    {"0.3333", "\\frac13", true, true},
    {"3.14", "\\pi", false, false},
    {"3.1416", "\\pi", false, true},
    // fractions: \dfrac / \tfrac, \frac34, a/b, decimals
    {"\\frac{3}{4}", "\\dfrac{3}{4}", true, true},
    {"\\tfrac34", "\\frac{3}{4}", true, true},
    {"3/4", "\\frac{3}{4}", true, true},
    {"\\frac{6}{8}", "\\frac{3}{4}", true, true},
    {"-\\frac{3}{4}", "\\frac{-3}{4}", true, true},
    {"\\frac{-3}{4}", "-\\frac34", true, true},
    {"0.75", "\\frac{3}{4}", true, true},
    {"\\frac{3}{4}", "0.75", true, true},
    // radicals and principal roots; decimal approximations within 1e-4
    {"2\\sqrt{2}", "\\sqrt{8}", true, true},
    {"\\sqrt{8}", "2\\sqrt2", true, true},
    {"\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}", true, true},
    {"\\sqrt[3]{8}", "2", true, true},
    {"\\sqrt[3]{-8}", "-2", false, true},
    {"3\\sqrt{13}", "\\sqrt{117}", true, true},
    {"\\sqrt{51}", "7.1414", true, true},
    {"\\sqrt{51}", "7.14", false, false},
    // pi: a symbol for the reference (so 6.28 is not 2pi), the constant for strict
    {"2\\pi", "2\\pi", true, true},
    {"\\pi \\cdot 2", "2\\pi", true, true},
    {"2 \\cdot \\pi", "2\\pi", true, true},
    {"6.28", "2\\pi", false, false},
    {"\\frac{\\pi}{2}", "\\pi/2", true, true},
    {"90^\\circ", "\\frac{\\pi}{2}", false, false},
    // complex numbers: i is a symbol for the reference; j -> i
    {"6-5i", "6 - 5i", true, true},
    {"-5i+6", "6-5i", true, true},
    {"6-5j", "6-5i", true, true},
    {"\\sqrt{-25}", "5i", false, true},
    // polynomials: equal at random complex points
    {"x^2+2x+1", "(x+1)^2", true, true},
    {"(x+1)^2", "x^2+2x+1", true, true},
    {"2k+2", "2(k+1)", true, true},
    {"2(k+1)", "2k+2", true, true},
    {"15x-80", "-80+15x", true, true},
    {"p-q", "-q+p", true, true},
    {"q-p", "p-q", false, false},
    // equations: short left sides dropped, a-(b) against c-(d) or its negation
    {"y=2x+3", "2x+3", true, true},
    {"y = 2x + 3", "y=3+2x", true, true},
    {"5x-7y+11z+4=0", "-5x+7y-11z-4=0", true, true},
    {"5x-7y+11z+4=0", "10x-14y+22z+8=0", false, true},
    {"x=5", "5", true, true},
    {"5=x", "5", false, true},
    {"k=5", "5", true, true},
    // tuples and intervals element by element; bracket types (reference: ignored)
    {"(3,\\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)", true, true},
    {"(3, 1.5708)", "\\left( 3, \\frac{\\pi}{2} \\right)", false, true},
    {"[-2,7]", "x \\in [-2,7]", true, true},
    {"(-\\infty,0]", "(-\\infty, 0]", true, true},
    {"(2,\\infty)", "[2,\\infty)", true, false},
    {"(1,2)", "[1,2]", true, false},
    {"(1,2]", "[1,2)", true, false},
    {"1,-2", "-2,1", false, false},
    {"-2, 1", "1,-2", false, false},
    {"1", "1,-2", true, false},
    {"3, 5, 7", "3,5,7", true, true},
    {"7,5,3", "3,5,7", false, false},
    // sets (parse_expr reads {1,2} as a Python set)
    {"\\{1,2\\}", "\\{2,1\\}", true, true},
    {"\\{1,2\\}", "\\{1,2\\}", true, true},
    // matrices element by element
    {"\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", true, true},
    {"\\begin{bmatrix}1\\\\2\\end{bmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", true, true},
    {"\\begin{pmatrix}1\\\\3\\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", false, false},
    {"(1,2)", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", false, false},
    {"\\begin{pmatrix}1\\\\2\\end{pmatrix}", "(1,2)", false, false},
    {"\\begin{pmatrix}0.5&0\\\\0&1\\end{pmatrix}", "\\begin{pmatrix}\\frac12&0\\\\0&1\\end{pmatrix}", true, true},
    // text answers; unit words ("east", "c") stripped by the reference; \textbf
    {"\\text{Evelyn}", "\\text{Evelyn}", true, true},
    {"Evelyn", "\\text{Evelyn}", true, true},
    {"evelyn", "\\text{Evelyn}", true, true},
    {"\\text{east}", "\\text{east}", true, true},
    {"east", "\\text{east}", true, true},
    {"west", "\\text{east}", true, false},
    {"(C)", "\\text{(C)}", true, true},
    {"C", "\\text{(C)}", true, true},
    {"\\text{(C)}", "(C)", true, true},
    {"\\textbf{(C)}", "\\text{(C)}", false, true},
    {"(D)", "\\text{(C)}", false, false},
    {"even", "\\text{even}", true, true},
    {"odd", "\\text{even}", false, false},
    {"\\text{odd}", "\\text{even}", false, false},
    // units, dollars, \mbox
    {"5 cm", "5", true, true},
    {"5\\text{ cm}", "5", true, true},
    {"864 \\mbox{ inches}^2", "864 \\mbox{ inches}^2", true, true},
    {"864", "864 \\mbox{ inches}^2", false, false},
    {"15\\mbox{ cm}^2", "15\\mbox{ cm}^2", true, true},
    {"15", "15\\mbox{ cm}^2", false, false},
    {"\\$32,348", "\\$32,\\!348", true, true},
    {"32348", "\\$32,\\!348", true, true},
    {"18.90", "\\$18.90", true, true},
    {"18.9", "\\$18.90", true, true},
    {"5.4 \\text{ cents}", "5.4 \\text{ cents}", true, true},
    {"5.4", "5.4 \\text{ cents}", true, true},
    // number bases (sympy reads the prefix 52), degrees, thousands with \!
    {"52_8", "52_8", true, true},
    {"52", "52_8", false, false},
    {"42_8", "52_8", false, false},
    {"90^\\circ", "90^\\circ", true, true},
    {"90", "90^\\circ", true, true},
    {"90^{\\circ}", "90^\\circ", true, true},
    {"\\frac{270}{7}", "\\frac{270}7\\text{ degrees}", true, true},
    {"38.57", "\\frac{270}7\\text{ degrees}", true, true},
    {"10,080", "10,\\!080", true, true},
    {"10080", "10,\\!080", true, true},
    {"11,111,111,100", "11,\\! 111,\\! 111,\\! 100", true, true},
    // \pm ("pm" is a unit word: the reference turns it into a backslash)
    {"1 \\pm \\sqrt{19}", "1 \\pm \\sqrt{19}", true, true},
    {"1+\\sqrt{19}", "1 \\pm \\sqrt{19}", false, false},
    {"\\sqrt{19}", "1 \\pm \\sqrt{19}", true, false},
    {"3 \\pm 2\\sqrt{2}", "3 \\pm 2 \\sqrt{2}", true, true},
    // products; "a" is a unit word for the reference
    {"(a+5)(b+2)", "(a+5)(b+2)", true, true},
    {"(b+2)(a+5)", "(a+5)(b+2)", true, true},
    {"ab+2a+5b+10", "(a+5)(b+2)", false, true},
    {"(5+a)(2+b)", "(a+5)(b+2)", true, true},
    // functions (spaces removed: "\cosx" is an unknown command for the reference)
    {"\\cot x", "\\cot x", true, true},
    {"\\frac{\\cos x}{\\sin x}", "\\cot x", false, true},
    {"\\tan x", "\\cot x", false, false},
    {"6r^2-4r-24", "6r^2-4r-24", true, true},
    {"2(3r^2-2r-12)", "6r^2-4r-24", true, true},
    {"\\frac{11+9a}{20}", "\\frac{11+9a}{20}", true, true},
    {"\\frac{11}{20}+\\frac{9a}{20}", "\\frac{11+9a}{20}", true, true},
    {"0.55+0.45a", "\\frac{11+9a}{20}", true, true},
    {"\\frac{20000}{\\pi}", "\\frac{20000}{\\pi}", true, true},
    {"6366.2", "\\frac{20000}{\\pi}", false, true},
    {"18+2\\pi", "18+2\\pi", true, true},
    {"2\\pi+18", "18+2\\pi", true, true},
    {"24.28", "18+2\\pi", false, false},
    {"\\frac{1}{3}x", "\\frac{x}{3}", true, true},
    {"x/3", "\\frac{x}{3}", true, true},
    {"0.5x", "\\frac{x}{2}", true, true},
    {"\\sqrt{x^2}", "x", false, false},
    {"|x|", "\\sqrt{x^2}", false, false},
    {"e^{i\\pi}", "-1", false, true},
    {"e^2", "7.389", false, true},
    {"\\ln e", "1", false, true},
    {"\\log_2 8", "3", true, true},
    {"\\log_{2}8", "3", true, true},
    {"\\sin(\\pi/6)", "\\frac12", false, true},
    {"\\sin 30^\\circ", "\\frac12", false, false},
    {"5!", "120", true, true},
    {"\\binom{5}{2}", "10", true, true},
    {"\\dbinom{5}{2}", "10", true, true},
    {"C(5,2)", "10", false, false},
    {"\\lfloor 2.5 \\rfloor", "2", true, true},
    // infinity, empty set, the reals
    {"\\infty", "\\infty", true, true},
    {"+\\infty", "\\infty", true, true},
    {"-\\infty", "\\infty", false, false},
    {"x \\to \\infty", "\\infty", true, true},
    {"\\emptyset", "\\emptyset", true, true},
    {"\\{\\}", "\\emptyset", true, true},
    {"\\mathbb{R}", "(-\\infty,\\infty)", true, true},
    {"(-\\infty,\\infty)", "\\mathbb{R}", true, true},
    {"x\\in\\mathbb{R}", "(-\\infty,\\infty)", true, true},
    {"\\text{all real numbers}", "(-\\infty,\\infty)", false, false},
    {"(-\\infty, 2) \\cup (3, \\infty)", "(-\\infty, 2) \\cup (3, \\infty)", true, true},
    {"(-\\infty,2)\\cup(3,\\infty)", "(-\\infty, 2) \\cup (3, \\infty)", true, true},
    {"(3,\\infty)\\cup(-\\infty,2)", "(-\\infty, 2) \\cup (3, \\infty)", false, true},
    {"x<2 \\text{ or } x>3", "(-\\infty, 2) \\cup (3, \\infty)", false, false},
    // inequalities: the reference compares |lhs - rhs| only
    {"x \\le 3", "x\\leq 3", true, true},
    {"x \\leq 3", "3 \\geq x", false, true},
    {"x < 3", "x > 3", true, false},
    {"x>3", "3<x", true, true},
    // number words (word2number), yes/no, multiple choice letters
    {"two", "2", true, true},
    {"2", "two", true, true},
    {"twelve", "12", true, true},
    {"one hundred", "100", true, true},
    {"\\text{five}", "5", true, true},
    {"Yes", "yes", true, true},
    {"\\text{Yes}", "Yes", true, true},
    {"No", "Yes", false, false},
    {"A", "A", true, true},
    {"B", "A", false, false},
    {"(A)", "A", false, true},
    {"\\text{(A)}", "A", false, true},
    {"a", "A", false, true},
    // mixed numbers ("1\frac12" is 1*1/2 for the reference), a/b with leading zeros
    {"1.5", "\\frac32", true, true},
    {"1\\frac12", "\\frac32", false, true},
    {"1 \\frac{1}{2}", "\\frac{3}{2}", false, true},
    {"137\\frac12", "137 \\frac{1}{2}", true, true},
    {"137.5", "137 \\frac{1}{2}", false, true},
    {"68.5", "137 \\frac{1}{2}", true, false},
    {"2/4", "\\frac12", true, true},
    {"02/4", "\\frac12", true, true},
    {"\\frac{2}{4}", "0.5", true, true},
    {"50\\%", "\\frac12", false, false},
    {"50", "\\frac12", false, false},
    {"0.5", "50\\%", true, true},
    // answers with variables named, lists written with "and"
    {"-2x", "y = -2x", true, true},
    {"y=-2x", "y = -2x", true, true},
    {"y = -2x+0", "y=-2x", true, true},
    {"x=2, x=3", "2,3", true, true},
    {"x=2 \\text{ and } x=3", "2,3", true, true},
    {"2 and 3", "2,3", true, true},
    {"2 \\text{ or } 3", "2,3", false, false},
    {"x = \\frac{1}{2}", "\\frac{1}{2}", true, true},
    {"a=\\frac{1}{2}", "\\frac{1}{2}", true, true},
    {"\\frac{1}{2} = a", "\\frac{1}{2}", false, true},
    // scientific notation, leading-dot decimals
    {"0.0000672", ".0000672", true, true},
    {"6.72\\times 10^{-5}", ".0000672", true, true},
    {"6.72 \\cdot 10^{-5}", "0.0000672", true, true},
    {"\\frac{243}{625}", "0.3888", true, true},
    {"0.3888", "\\frac{243}{625}", true, true},
    {"\\frac{448}{15625}", "0.028672", true, true},
    {"1.25", "\\frac{5}{4}", true, true},
    {"\\frac54", "1.25", true, true},
    {"5/4", "1.25", true, true},
    // negative fractions of pi
    {"-\\frac{\\pi}{6}", "-\\frac{\\pi}{6}", true, true},
    {"-\\pi/6", "-\\frac{\\pi}{6}", true, true},
    {"\\frac{-\\pi}{6}", "-\\frac{\\pi}{6}", true, true},
    {"-0.5236", "-\\frac{\\pi}{6}", false, true},
    {"\\frac{11\\pi}{6}", "-\\frac{\\pi}{6}", false, false},
    // subscripts, case, longer polynomials, f(x) = ...
    {"4210_{5}", "4210_{5}", true, true},
    {"4210_5", "4210_{5}", true, true},
    {"4210", "4210_{5}", true, false},
    {"3R^2", "3R^2", true, true},
    {"3r^2", "3R^2", true, true},
    {"8n^2+4n+1", "8n^2 + 4n + 1", true, true},
    {"1+4n+8n^2", "8n^2 + 4n + 1", true, true},
    {"x^3+3x-6", "x^3+3x-6", true, true},
    {"x^3+3x-7", "x^3+3x-6", false, false},
    {"x^3 + 3x - 6 = 0", "x^3+3x-6", false, false},
    {"f(x)=x^3+3x-6", "x^3+3x-6", false, true},
    {"p(x) = x^3+3x-6", "x^3+3x-6", false, true},
    // complex numbers and pi products
    {"1+2i", "1+2i", true, true},
    {"1 + 2i", "2i+1", true, true},
    {"1-2i", "1+2i", false, false},
    {"\\frac{1}{2}+\\frac{\\sqrt{3}}{2}i", "\\frac{1+i\\sqrt{3}}{2}", true, true},
    {"\\pi r^2", "\\pi r^2", true, true},
    {"r^2\\pi", "\\pi r^2", false, true},
    {"\\pi \\cdot r^2", "\\pi r^2", false, true},
    {"288\\pi", "288 \\pi", true, true},
    {"904.78", "288\\pi", false, true},
    {"12\\pi", "12\\pi", true, true},
    {"37.7", "12\\pi", false, true},
    {"7\\pi", "7\\pi", true, true},
    {"21.99", "7\\pi", false, true},
    // radicals with decimals; interval endpoints; unions
    {"\\frac{\\sqrt{21}}{5}", "\\frac{\\sqrt{21}}{5}", true, true},
    {"\\sqrt{21}/5", "\\frac{\\sqrt{21}}{5}", true, true},
    {"\\sqrt{\\frac{21}{25}}", "\\frac{\\sqrt{21}}{5}", true, true},
    {"0.9165", "\\frac{\\sqrt{21}}{5}", true, true},
    {"11\\sqrt{5}+11", "11 \\sqrt{5} + 11", true, true},
    {"11(\\sqrt{5}+1)", "11 \\sqrt{5} + 11", true, true},
    {"35.596", "11 \\sqrt{5} + 11", true, true},
    {"(-\\sqrt{3}, \\sqrt{3})", "(-\\sqrt{3}, \\sqrt{3})", true, true},
    {"(-1.732,1.732)", "(-\\sqrt{3}, \\sqrt{3})", true, true},
    {"\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]", "\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]", true, true},
    {"[\\pi^2/8, 5\\pi^2/4]", "\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]", true, true},
    {"(0,9) \\cup (9,36)", "(0,9) \\cup (9,36)", true, true},
    {"(0,36)", "(0,9) \\cup (9,36)", false, false},
    {"(6,31,-1)", "(6,31,-1)", true, true},
    {"(6, 31, -1)", "(6,31,-1)", true, true},
    {"(6,-1,31)", "(6,31,-1)", false, false},
    {"6,31,-1", "(6,31,-1)", true, true},
    {"(1,-16,-4,43)", "(1,-16,-4,43)", true, true},
    // comma lists without brackets: sympy reads the first element only
    {"\\frac{1}{2},3", "\\frac12, 3", true, true},
    {"\\frac{1}{2},4", "\\frac12, 3", true, false},
    {"\\frac{1}{2}", "\\frac12, 3", true, false},
    // implicit products ("x(x+1)" is a function x for sympy), "2x3" = 6, powers
    {"x+y", "x+y", true, true},
    {"x+y+0", "x+y", true, true},
    {"\\frac{x+y}{1}", "x+y", true, true},
    {"xy", "yx", true, true},
    {"x(x+1)", "x^2+x", false, true},
    {"x\\cdot(x+1)", "x^2+x", true, true},
    {"2x3", "6", true, false},
    {"2 x 3", "6", true, false},
    {"\\sqrt{2}\\sqrt{2}", "2", true, true},
    {"\\sqrt2^2", "2", true, true},
    {"2^{10}", "1024", true, true},
    {"2^10", "1024", true, true},
    {"10^{3}", "1000", true, true},
    {"1e3", "1000", true, true},
    {"10^3", "1,000", true, true},
    // edge values: 1/0, 0^0, principal roots, repeating decimals, money
    {"\\frac{1}{0}", "\\infty", false, false},
    {"0^0", "1", true, true},
    {"(-1)^{1/3}", "-1", false, false},
    {"\\overline{3}", "3", true, true},
    {"0.\\overline{3}", "\\frac13", false, true},
    {"\\frac{1}{3}", "0.\\overline{3}", false, true},
    {"\\$5", "5", true, true},
    {"5 dollars", "5", false, true},
    {"\\$5.00", "5", true, true},
    {"5.00", "5", true, true},
    {"5.50", "5.5", true, true},
    {"\\text{5 apples}", "5", true, true},
    {"5 apples", "5", true, true},
    {"five apples", "5", true, true},
};

struct OutputCase {
  const char* output;
  const char* gold;
  const char* data;
  const char* reference_extracted;
  bool reference;
  const char* strict_extracted;
  bool strict;
};

// Whole outputs: how reasoning models end (boxed, nested braces, "\boxed x",
// "the answer is", Minerva's "final answer is $x$. I hope", the last number,
// stop tokens, empty output), GSM8K's "#### n" golds and AIME's "025".
const OutputCase kOutputs[] = {
    {"We simplify to get \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}", "math",
     "\\frac{1}{2}", true, "\\frac{1}{2}", true},
    {"So the set is \\boxed{\\left\\{ 1, 2 \\right\\}}.", "\\{1,2\\}", "math",
     "{1,2}", true, "{1,2}", true},
    {"Nested: $\\boxed{\\frac{\\sqrt{3}}{\\sqrt{\\sqrt{4}}}}$", "\\frac{\\sqrt{3}}{\\sqrt{2}}", "math",
     "\\frac{\\sqrt{3}}{\\sqrt{\\sqrt{4}}}", true, "\\frac{\\sqrt{3}}{\\sqrt{\\sqrt{4}}}", true},
    {"The answer is $\\boxed 5$.", "5", "math",
     "5", true, "5", true},
    {"Hence \\boxed{5}. Earlier I boxed the wrong value.", "5", "math",
     "thewrongvalue", false, "5", true},
    {"Hence \\boxed{5}. Earlier I boxed{6} a wrong value.", "5", "math",
     "6", false, "5", true},
    {"The answer is 42. Let me verify this once more.", "42", "math",
     "42Letmeverifythisonce", false, "42", true},
    {"The answer is 42.", "42", "math",
     "42", true, "42", true},
    {"The final answer is $\\frac{1}{2}$. I hope it is correct.", "\\frac12", "math",
     "\\frac{1}{2}", true, "\\frac{1}{2}", true},
    {"Computing, 12 + 5 = 17, and", "17", "gsm8k",
     "17", true, "17", true},
    {"So x = 5-3", "2", "math",
     "-3", false, "-3", false},
    {"He has 1,000 apples", "1000", "gsm8k",
     "1000", true, "1000", true},
    {"I am not sure how to proceed.", "7", "math",
     "", false, "", false},
    {"\\boxed{3}<|im_end|>\\boxed{4}", "3", "math",
     "3", true, "3", true},
    {"Result \\boxed{3}</s> trailing \\boxed{9}", "3", "math",
     "3", true, "3", true},
    {"", "3", "math",
     "", false, "", false},
    {"error", "3", "math",
     "", false, "", false},
    {"So \\boxed{12", "12", "math",
     "12", true, "12", true},
    {"So \\boxed{}", "12", "math",
     "", false, "", false},
    {"I put it in a box: boxed", "12", "math",
     "", false, "", false},
    {"所以答案是 5\n\n其他", "5", "math",
     "5", true, "5", true},
    {"The answer is 5ки", "5", "math",
     "5", true, "5", true},
    {"\\boxed{1\n  2}", "12", "math",
     "12", true, "12", true},
    {"The answer is: 7", "7", "math",
     "7", true, "7", true},
    {"The answer is 3/4.", "\\frac34", "math",
     "\\frac{3}{4}", true, "\\frac{3}{4}", true},
    {"She makes $18 every day.", "Janet makes 9 * 2 = $18.\n#### 18", "gsm8k",
     "18", true, "18", true},
    {"The answer is $1,080.", "#### 1080", "gsm8k",
     "1,080", true, "1,080", true},
    {"\\boxed{1080.00}", "#### 1080", "gsm8k",
     "1080", true, "1080", true},
    {"\\boxed{\\$1,080}", "#### 1080", "gsm8k",
     "1,080", true, "1,080", true},
    {"\\boxed{1080 dollars}", "#### 1080", "gsm8k",
     "1080dollars", false, "1080", true},
    {"\\boxed{25}", "025", "aime24",
     "25", true, "25", true},
    {"\\boxed{025}", "025", "aime24",
     "25", true, "25", true},
    {"\\boxed{204 \\text{ minutes}}", "204", "aime24",
     "204", true, "204", true},
    {"\\boxed{204 minutes}", "204", "aime24",
     "204", true, "204", true},
    {"The result: $\\fbox{7}$", "7", "math",
     "7", true, "7", true},
    {"The result: $\\fbox{x+1}$", "x+1", "math",
     "1", false, "x+1", true},
    {"First \\boxed{4}, but correcting: \\boxed{5}", "5", "math",
     "5", true, "5", true},
    {"First \\boxed{5}, but correcting: \\boxed{4}", "5", "math",
     "4", false, "4", false},
    {"The answer is \\boxed{\\text{(C)}}", "\\text{(C)}", "math",
     "(C)", true, "(C)", true},
    {"The answer is \\boxed{C}", "\\text{(C)}", "math",
     "C", true, "C", true},
    {"The answer is \\boxed{\\textbf{(C)}}", "\\text{(C)}", "math",
     "\\textbf{(C)}", false, "(C)", true},
    {"So the direction is \\boxed{\\text{east}}.", "\\text{east}", "math",
     "", true, "east", true},
    {"So the direction is \\boxed{\\text{north}}.", "\\text{east}", "math",
     "", true, "north", false},
    {"Final answer: $x \\in \\boxed{[-2, 7]}$", "x \\in [-2,7]", "math",
     "[-2,7]", true, "[-2,7]", true},
    {"Answer: \\boxed{(-\\infty, 0]}", "(-\\infty, 0]", "math",
     "(-\\infty,0]", true, "(-\\infty,0]", true},
    {"Answer: \\boxed{[0, \\infty)}", "(-\\infty, 0]", "math",
     "[0,\\infty)", false, "[0,\\infty)", false},
    {"\\[\\boxed{\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}}\\]", "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", "math",
     "\\begin{pmatrix}-1/3\\\\2/3\\\\5/3\\end{pmatrix}", true, "\\begin{pmatrix}-1/3\\\\2/3\\\\5/3\\end{pmatrix}", true},
    {"\\[\\boxed{\\begin{pmatrix} -\\frac{1}{3} \\\\ \\frac{2}{3} \\\\ \\frac{5}{3} \\end{pmatrix}}\\]", "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", "math",
     "\\begin{pmatrix}-\\frac{1}{3}\\\\\\frac{2}{3}\\\\\\frac{5}{3}\\end{pmatrix}", true, "\\begin{pmatrix}-\\frac{1}{3}\\\\\\frac{2}{3}\\\\\\frac{5}{3}\\end{pmatrix}", true},
    {"\\[\\boxed{\\begin{bmatrix} -1 & 0 \\\\ 0 & -1 \\end{bmatrix}}\\]", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", "math",
     "\\begin{pmatrix}-1&0\\\\0&-1\\end{pmatrix}", true, "\\begin{pmatrix}-1&0\\\\0&-1\\end{pmatrix}", true},
    {"\\boxed{y = 2x + 3}", "y = 2x + 3", "math",
     "2x+3", true, "2x+3", true},
    {"The equation of the plane is \\boxed{5x - 7y + 11z + 4 = 0}.", "5x - 7y + 11z + 4 = 0", "math",
     "5x-7y+11z+4=0", true, "5x-7y+11z+4=0", true},
    {"So the probability is \\boxed{\\dfrac{3}{56}}.", "\\frac{3}{56}", "math",
     "\\frac{3}{56}", true, "\\frac{3}{56}", true},
    {"So the probability is \\boxed{0.0536}.", "\\frac{3}{56}", "math",
     "0.0536", false, "0.0536", false},
    {"The angle is \\boxed{90^\\circ}.", "90^\\circ", "math",
     "90", true, "90", true},
    {"The angle is \\boxed{90}.", "90^\\circ", "math",
     "90", true, "90", true},
    {"Thus $\\boxed{10{,}080}$ ways.", "10,\\!080", "math",
     "10{,}080", true, "10{,}080", true},
    {"Thus $\\boxed{10,080}$ ways.", "10,\\!080", "math",
     "10,080", true, "10,080", true},
    {"Thus the sum is \\boxed{52_8}.", "52_8", "math",
     "52_8", true, "52_8", true},
    {"The roots are $\\boxed{1 \\pm \\sqrt{19}}$.", "1 \\pm \\sqrt{19}", "math",
     "1\\\\sqrt{19}", true, "1\\pm\\sqrt{19}", true},
    {"The total cost is \\boxed{\\$32,348}.", "\\$32,\\!348", "math",
     "32,348", true, "32,348", true},
    {"**Final Answer**\n\\[\n\\boxed{\\dfrac{14}{3}}\n\\]", "\\frac{14}{3}", "math",
     "\\frac{14}{3}", true, "\\frac{14}{3}", true},
    {"</think>\n\nThe answer is \\(\\boxed{-\\frac{\\pi}{6}}\\).", "-\\frac{\\pi}{6}", "math",
     "-\\frac{\\pi}{6}", true, "-\\frac{\\pi}{6}", true},
    {"So we need \\boxed{p - q}.", "p - q", "math",
     "p-q", true, "p-q", true},
    {"So we need \\boxed{q-p}.", "p - q", "math",
     "q-p", false, "q-p", false},
    {"Total: 4 + 5 = 9 so 9 apples; wait, recount: 3 + 5 = 8", "#### 9", "gsm8k",
     "8", false, "8", false},
};

std::string boxed_output(const char* pred) { return std::string("The answer is $\\boxed{") + pred + "}$."; }

TEST(GradePairs, ReferenceVerdicts) {
  for (const PairCase& c : kPairs)
    EXPECT_EQ(grade(boxed_output(c.pred), c.gold, DataName::kMath, Rules::kReference).correct, c.reference)
        << "pred " << c.pred << " gold " << c.gold;
}

TEST(GradePairs, StrictVerdicts) {
  for (const PairCase& c : kPairs)
    EXPECT_EQ(grade(boxed_output(c.pred), c.gold, DataName::kMath, Rules::kStrict).correct, c.strict)
        << "pred " << c.pred << " gold " << c.gold;
}

TEST(GradePairs, CoverBothVerdictsAndBothRuleSets) {
  int true_ref = 0, false_ref = 0, differ = 0;
  for (const PairCase& c : kPairs) {
    (c.reference ? true_ref : false_ref)++;
    differ += c.reference != c.strict;
  }
  EXPECT_GE(true_ref, 100);
  EXPECT_GE(false_ref, 50);
  EXPECT_GE(differ, 30);  // every documented deviation has cases
}

TEST(GradeOutputs, ReferenceExtractionAndVerdict) {
  for (const OutputCase& c : kOutputs) {
    GradeResult r = grade(c.output, c.gold, parse_data_name(c.data), Rules::kReference);
    EXPECT_EQ(r.extracted, c.reference_extracted) << c.output;
    EXPECT_EQ(r.correct, c.reference) << c.output;
  }
}

TEST(GradeOutputs, StrictExtractionAndVerdict) {
  for (const OutputCase& c : kOutputs) {
    GradeResult r = grade(c.output, c.gold, parse_data_name(c.data), Rules::kStrict);
    EXPECT_EQ(r.extracted, c.strict_extracted) << c.output;
    EXPECT_EQ(r.correct, c.strict) << c.output;
  }
}

TEST(GradeOutputs, AtLeastTwoHundredCasesInAll) {
  EXPECT_GE(std::size(kPairs) + std::size(kOutputs), 200u);
}

}  // namespace
}  // namespace rkv::eval
