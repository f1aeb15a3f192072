// What a player's VAST parser sees of our documents: @dailymotion/vast-client on a DOM from @xmldom/xmldom
// (pinned in package.json, installed by `make assets`). Reads a JSON array of XML documents on stdin and
// prints a JSON array with, for each, its ads as the parser read them (or the error it raised).
'use strict';

const { DOMParser } = require('@xmldom/xmldom');
const { VASTParser } = require('@dailymotion/vast-client');
const { adView, run } = require('./vast_views');

async function parse(xml) {
  try {
    const dom = new DOMParser().parseFromString(xml, 'text/xml');
    const response = await new VASTParser().parseVAST(dom);
    return { version: response.version, ads: response.ads.map(adView) };
  } catch (error) {
    return { error: String(error) };
  }
}

run(parse);
