// A player following our wrappers: @dailymotion/vast-client's VASTClient resolves each VASTAdTagURI over
// HTTP (fetch, with its wrapper limit), as a player does. Reads a JSON array of XML documents on stdin and
// prints, for each, the ads it ended with and the VAST error codes it reported on the way.
'use strict';

const { DOMParser } = require('@xmldom/xmldom');
const { VASTClient } = require('@dailymotion/vast-client');
const { adView, run } = require('./vast_views');

global.DOMParser = DOMParser; // the client parses what it fetches with the global DOMParser

async function follow(xml) {
  const client = new VASTClient();
  const errors = [];
  client.getParser().on('VAST-error', (event) => errors.push(String(event.ERRORCODE)));
  try {
    const dom = new DOMParser().parseFromString(xml, 'text/xml');
    const response = await client.parseVAST(dom, { resolveAll: true, timeout: 3000, wrapperLimit: 5 });
    return { errors, ads: response.ads.map(adView) };
  } catch (error) {
    return { errors, error: String(error) };
  }
}

run(follow);
