#!/usr/bin/env node
// Committed entry so package managers can link the `pref` binary before the first build;
// the program itself is the built dist/bin.js.
import "../dist/bin.js";
