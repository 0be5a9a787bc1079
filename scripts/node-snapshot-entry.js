// Built into a V8 startup snapshot when the runner image is made (Debian's Node has no
// built-in startup snapshot, so every start would bootstrap Node's JavaScript from scratch,
// ~100 ms of CPU). At run time the snapshot's main function runs the user's file exactly as
// `node main.js` would.
//
// Pre-started (TANDEM_PRESTART_FD set by tandem-agent): Node starts with its sandbox, before
// the job exists, and blocks reading fd 3 until the agent writes the JSON argv of the program
// (main file, then its arguments) and closes it.
const v8 = require("v8");
v8.startupSnapshot.setDeserializeMainFunction(() => {
  const fs = require("fs");
  const path = require("path");
  const fd = process.env.TANDEM_PRESTART_FD;
  if (fd !== undefined) {
    delete process.env.TANDEM_PRESTART_FD;
    const argv = JSON.parse(fs.readFileSync(Number(fd), "utf8"));
    fs.closeSync(Number(fd));
    process.argv.splice(1, process.argv.length - 1, ...argv);
  }
  process.argv[1] = path.resolve(process.argv[1]);
  require("module").runMain(process.argv[1]);
});
