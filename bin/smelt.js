#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/ (built by `npm install` via the prepare script).
// Once main() has returned, nothing should keep the process alive; a client library's retry timer or
// socket sometimes does, so an unref'd timer ends the process a little later (it never fires otherwise).
const finish = (code) => {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 1500).unref();
};
import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2))).then(finish, (err) => {
  console.error(err);
  finish(3);
});
