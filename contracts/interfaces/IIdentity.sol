// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC734} from "./IERC734.sol";
import {IERC735} from "./IERC735.sol";

/// @title ONCHAINID identity: an ERC-734 key holder that is also an ERC-735 claim holder
interface IIdentity is IERC734, IERC735 {}
